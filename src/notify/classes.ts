/**
 * The classes of iTop 3.2's standard model that threshold notifications touch (tickets, contacts,
 * organizations, services, users, triggers, actions), with the EN US labels of their enumerations
 * (itop-request-mgmt, itop-config-mgmt and core dictionaries). Attributes not listed here are still
 * readable as plain columns (datamodel.ts `resolveAttribute`).
 */
import { defineClasses, type AttDef, type ClassDef } from './datamodel.js';

const str: AttDef = { type: 'string' };
const text: AttDef = { type: 'text' };
const html: AttDef = { type: 'html' };
const dt: AttDef = { type: 'datetime' };
const date: AttDef = { type: 'date' };
const int: AttDef = { type: 'int' };
const key = (target: string, column?: string): AttDef => ({ type: 'extkey', target, ...(column ? { column } : {}) });
const ext = (k: string, remote: string): AttDef => ({ type: 'extfield', key: k, remote });
const enumOf = (labels: Record<string, string>, badge = false): AttDef => ({ type: 'enum', labels, badge });

const YES_NO = { yes: 'Yes', no: 'No' };
const ACTIVE = { active: 'Active', inactive: 'Inactive' };
const LEVELS = { '1': 'Critical', '2': 'High', '3': 'Medium', '4': 'Low' };
const IMPACT = { '1': 'A department', '2': 'A service', '3': 'A person' };

/** A ticket's SLA stopwatch and its `sla_*`/`*_escalation_deadline` sub-items (threshold 100). */
function stopwatch(code: string): Record<string, AttDef> {
  return {
    [code]: { type: 'stopwatch' },
    [`${code}_escalation_deadline`]: { type: 'subitem', stopwatch: code, threshold: 100, item: 'deadline' },
    [`sla_${code}_passed`]: { type: 'subitem', stopwatch: code, threshold: 100, item: 'passed' },
    [`sla_${code}_over`]: { type: 'subitem', stopwatch: code, threshold: 100, item: 'overrun' },
  };
}

const contactAtts: Record<string, AttDef> = {
  name: str,
  status: enumOf(ACTIVE),
  org_id: key('Organization'),
  org_name: ext('org_id', 'name'),
  org_id_friendlyname: ext('org_id', 'friendlyname'),
  email: { type: 'email' },
  phone: str,
  notify: enumOf(YES_NO),
  function: str,
  obsolescence_date: date,
};

const ticketAtts: Record<string, AttDef> = {
  operational_status: enumOf({ ongoing: 'Ongoing', resolved: 'Resolved', closed: 'Closed' }),
  ref: str,
  org_id: key('Organization'),
  org_name: ext('org_id', 'name'),
  org_id_friendlyname: ext('org_id', 'friendlyname'),
  caller_id: key('Person'),
  caller_name: ext('caller_id', 'name'),
  caller_id_friendlyname: ext('caller_id', 'friendlyname'),
  team_id: key('Team'),
  team_name: ext('team_id', 'name'),
  team_id_friendlyname: ext('team_id', 'friendlyname'),
  agent_id: key('Person'),
  agent_name: ext('agent_id', 'name'),
  agent_id_friendlyname: ext('agent_id', 'friendlyname'),
  title: str,
  description: html,
  start_date: dt,
  end_date: dt,
  last_update: dt,
  close_date: dt,
  private_log: { type: 'caselog' },
  contacts_list: { type: 'linkset', link: { linkClass: 'lnkContactToTicket', toMe: 'ticket_id', toRemote: 'contact_id' } },
};

const requestStatus = {
  new: 'New',
  waiting_for_approval: 'Waiting for approval',
  approved: 'Approved',
  rejected: 'Rejected',
  assigned: 'Assigned',
  pending: 'Pending',
  escalated_tto: 'Escalated TTO',
  escalated_ttr: 'Escalated TTR',
  resolved: 'Resolved',
  closed: 'Closed',
};

const userRequestAtts: Record<string, AttDef> = {
  status: enumOf(requestStatus, true),
  request_type: enumOf({ incident: 'Incident', service_request: 'Service request' }),
  impact: enumOf(IMPACT),
  priority: enumOf(LEVELS),
  urgency: enumOf(LEVELS),
  origin: enumOf({
    in_person: 'In-person', chat: 'Chat', mail: 'Email', monitoring: 'Monitoring', phone: 'Phone', portal: 'Portal',
  }),
  approver_id: key('Person'),
  approver_email: ext('approver_id', 'email'),
  service_id: key('Service'),
  service_name: ext('service_id', 'name'),
  servicesubcategory_id: key('ServiceSubcategory'),
  servicesubcategory_name: ext('servicesubcategory_id', 'name'),
  escalation_flag: enumOf(YES_NO),
  escalation_reason: str,
  assignment_date: dt,
  resolution_date: dt,
  last_pending_date: dt,
  cumulatedpending: { type: 'stopwatch' },
  ...stopwatch('tto'),
  ...stopwatch('ttr'),
  time_spent: int,
  resolution_code: enumOf({
    assistance: 'Assistance', 'bug fixed': 'Bug fixed', 'hardware repair': 'Hardware repair', other: 'Other',
    'software patch': 'Software patch', 'system update': 'System update', training: 'Training',
  }),
  solution: text,
  pending_reason: text,
  parent_request_id: key('UserRequest'),
  parent_request_ref: ext('parent_request_id', 'ref'),
  parent_problem_id: key('Problem'),
  parent_problem_ref: ext('parent_problem_id', 'ref'),
  parent_change_id: key('Change'),
  parent_change_ref: ext('parent_change_id', 'ref'),
  public_log: { type: 'caselog' },
  user_satisfaction: enumOf({
    '1': 'Very satisfied', '2': 'Fairly satisfied', '3': 'Rather dissatisfied', '4': 'Very dissatisfied',
  }),
  user_comment: { type: 'text', column: 'user_commment' },
};

const incidentAtts: Record<string, AttDef> = {
  ...userRequestAtts,
  status: enumOf(
    {
      new: 'New', escalated_tto: 'Escalated TTO', assigned: 'Assigned', escalated_ttr: 'Escalated TTR',
      pending: 'Pending', resolved: 'Resolved', closed: 'Closed',
    },
    true,
  ),
};
delete incidentAtts['request_type'];
delete incidentAtts['approver_id'];
delete incidentAtts['approver_email'];
delete incidentAtts['user_comment'];

const CLASSES: readonly ClassDef[] = [
  { name: 'Organization', table: 'organization', label: 'Organization', friendlyName: ['name'], summaryCard: true,
    attributes: {
      name: str, code: str, status: enumOf(ACTIVE), parent_id: key('Organization'), parent_name: ext('parent_id', 'name'),
      obsolescence_date: date,
    } },
  { name: 'Location', table: 'location', label: 'Location', friendlyName: ['name'], summaryCard: true,
    attributes: { name: str, status: enumOf(ACTIVE), org_id: key('Organization'), org_name: ext('org_id', 'name'),
      address: text, postal_code: str, city: str, country: str } },
  { name: 'Contact', table: 'contact', classColumn: 'finalclass', label: 'Contact', friendlyName: ['name'],
    summaryCard: true, attributes: contactAtts },
  { name: 'Person', parent: 'Contact', table: 'person', label: 'Person', friendlyName: ['first_name', 'name'],
    summaryCard: true,
    attributes: {
      first_name: str, employee_number: str, mobile_phone: str, location_id: key('Location'),
      location_name: ext('location_id', 'name'), manager_id: key('Person'), manager_name: ext('manager_id', 'name'),
    } },
  { name: 'Team', parent: 'Contact', table: 'team', label: 'Team', friendlyName: ['name'], summaryCard: true,
    attributes: {} },
  { name: 'Service', table: 'service', label: 'Service', friendlyName: ['name'], summaryCard: true,
    attributes: { name: str, org_id: key('Organization'), organization_name: ext('org_id', 'name'), description: text,
      status: enumOf({ implementation: 'Implementation', production: 'Production', obsolete: 'Obsolete' }) } },
  { name: 'ServiceSubcategory', table: 'servicesubcategory', label: 'Service Subcategory', friendlyName: ['name'],
    attributes: { name: str, description: text, service_id: key('Service'), service_name: ext('service_id', 'name'),
      request_type: enumOf({ incident: 'Incident', service_request: 'Service request' }) } },
  { name: 'Ticket', table: 'ticket', classColumn: 'finalclass', label: 'Ticket', friendlyName: ['ref'],
    summaryCard: true, attributes: ticketAtts },
  { name: 'UserRequest', parent: 'Ticket', table: 'ticket_request', label: 'User Request', friendlyName: ['ref'],
    summaryCard: true, attributes: userRequestAtts },
  { name: 'Incident', parent: 'Ticket', table: 'ticket_incident', label: 'Incident', friendlyName: ['ref'],
    summaryCard: true, attributes: incidentAtts },
  { name: 'Problem', parent: 'Ticket', table: 'ticket_problem', label: 'Problem', friendlyName: ['ref'],
    summaryCard: true, attributes: { status: enumOf({ new: 'New', assigned: 'Assigned', resolved: 'Resolved', closed: 'Closed' }, true) } },
  { name: 'Change', parent: 'Ticket', table: 'ticket_change', label: 'Change', friendlyName: ['ref'],
    summaryCard: true, attributes: {} },
  { name: 'lnkContactToTicket', table: 'lnkcontacttoticket', label: 'Link Contact / Ticket', friendlyName: ['ticket_id'],
    attributes: {
      ticket_id: key('Ticket'), ticket_ref: ext('ticket_id', 'ref'), contact_id: key('Contact'),
      contact_email: ext('contact_id', 'email'), role: str,
      impact_code: enumOf({ manual: 'Manual', computed: 'Computed', do_not_notify: 'Do not notify' }),
    } },
  { name: 'User', table: 'priv_user', classColumn: 'finalclass', label: 'User', friendlyName: ['login'],
    attributes: {
      contactid: key('Contact'), last_name: ext('contactid', 'name'), first_name: ext('contactid', 'first_name'),
      email: ext('contactid', 'email'), org_id: ext('contactid', 'org_id'), login: str, language: str,
      status: enumOf({ enabled: 'Enabled', disabled: 'Disabled' }),
    } },
  { name: 'Trigger', table: 'priv_trigger', classColumn: 'realclass', label: 'Trigger', friendlyName: ['description'],
    attributes: { description: str, context: str, complement: str, subscription_policy: str } },
  { name: 'TriggerOnObject', parent: 'Trigger', table: 'priv_trigger_onobject', label: 'Trigger (class dependent)',
    friendlyName: [], attributes: { target_class: str, filter: text } },
  { name: 'TriggerOnThresholdReached', parent: 'TriggerOnObject', table: 'priv_trigger_threshold',
    label: 'Trigger (on threshold)', friendlyName: [], attributes: { stop_watch_code: str, threshold_index: str } },
  { name: 'Action', table: 'priv_action', classColumn: 'realclass', label: 'Action', friendlyName: ['name'],
    attributes: {
      name: str, description: str,
      status: enumOf({ test: 'Being tested', enabled: 'In production', disabled: 'Inactive' }),
      asynchronous: enumOf({ use_global_setting: 'Use global settings', yes: 'Yes', no: 'No' }),
    } },
  { name: 'ActionNotification', parent: 'Action', table: 'priv_action_notification', label: 'Notification',
    friendlyName: [], attributes: { language: str } },
  { name: 'ActionEmail', parent: 'ActionNotification', table: 'priv_action_email', label: 'Notification by Email',
    friendlyName: [], attributes: {
      test_recipient: str, from: str, from_label: str, reply_to: str, reply_to_label: str, to: text, cc: text,
      bcc: text, subject: str, body: html, importance: enumOf({ low: 'Low', normal: 'Normal', high: 'High' }),
      ignore_notify: enumOf(YES_NO),
    } },
];

defineClasses(CLASSES);
