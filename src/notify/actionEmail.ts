/**
 * One ActionEmail run for one object: the event row first (`Notification
 * pending`), the recipients, the rendering of from/reply-to/subject/body, the event's copy of them, the
 * test-mode overrides, the CSS-inlined message, then sending now or queueing (per the action's
 * `asynchronous` and `email_asynchronous`), and the event's final message (`Sent`, `Pending`,
 * `No recipient`, `Error: ...`).
 */
import { coerceError } from '../errors.js';
import { isAsynchronous, queueOrSendMail } from '../mail/queue.js';
import type { MailTransport } from '../mail/transport.js';
import type { TaskContext } from '../tasks/types.js';
import { inlineEmailCss } from './cssInline.js';
import { insertEmailEvent, updateEmailEvent, type ChangeTracker } from './events.js';
import {
  INVALID_ADDRESS,
  checkAddressList,
  messageId,
  objectReference,
  testBanner,
  v2Message,
  wrapBody,
} from './mailParts.js';
import { argumentValue, friendlyName, type ItopObject, type ObjectStore } from './objectArgs.js';
import { applyParams, type TemplateParam } from './placeholders.js';
import { findRecipients, type RecipientField, type Recipients } from './recipients.js';
import { sanitizeHtml } from './sanitize.js';
import { hyperlink, objectUrl, type RenderEnv } from './templates.js';

/** An `ActionEmail` row (priv_action ⋈ priv_action_notification ⋈ priv_action_email). */
export interface ActionEmailRow {
  id: number;
  name: string;
  status: string;
  asynchronous: string;
  language: string | null;
  test_recipient: string | null;
  from: string | null;
  from_label: string | null;
  reply_to: string | null;
  reply_to_label: string | null;
  to: string | null;
  cc: string | null;
  bcc: string | null;
  subject: string | null;
  body: string | null;
  ignore_notify: string | null;
  html_template_data: Buffer | string | null;
}

/** What every action of one activation shares. */
export interface Activation {
  readonly ctx: TaskContext;
  readonly store: ObjectStore;
  readonly env: RenderEnv;
  /** The object whose threshold fired (`$this`). */
  readonly object: ItopObject;
  readonly cronLogin: string;
  readonly currentContactId: number;
  readonly currentUser: ItopObject | undefined;
  readonly currentContact: ItopObject | undefined;
  readonly change: ChangeTracker;
  /** md5(APPROOT)-production, for Message-ID and References. */
  readonly envId: string;
  /** `log_notification`. */
  readonly logNotification: boolean;
  /** The SMTP (or other) transport shared by the synchronous sends of the activation. */
  transport(): MailTransport;
}

/** The template parameters, in ApplyParams' order. */
function templateParams(act: Activation, trigger: ItopObject, action: ItopObject): TemplateParam[] {
  return [
    { name: 'this', object: act.object },
    { name: 'trigger', object: trigger },
    { name: 'action', object: action },
    { name: 'current_contact_id', value: String(act.currentContactId) },
    { name: 'current_user', object: act.currentUser },
    { name: 'current_contact', object: act.currentContact },
    { name: 'APP_URL', value: act.env.appUrl },
    { name: 'MODULES_URL', value: `${act.env.appUrl}env-production/` },
  ];
}

/** `:name` query arguments: `this->att`, `trigger->att`, `current_contact_id`, ... */
function queryArgs(act: Activation, trigger: ItopObject, action: ItopObject) {
  const objects: Record<string, ItopObject | undefined> = {
    this: act.object, trigger, action, current_user: act.currentUser, current_contact: act.currentContact,
  };
  return async (name: string): Promise<string | number | undefined> => {
    if (name === 'current_contact_id') return act.currentContactId;
    const [param, att] = name.split('->');
    const obj = objects[param ?? ''];
    if (obj === undefined || att === undefined) return undefined;
    return argumentValue(act.store, obj, att);
  };
}

interface Rendered {
  to: Recipients;
  cc: Recipients;
  bcc: Recipients;
  from: string;
  fromLabel: string;
  replyTo: string;
  subject: string;
  body: string;
}

async function render(act: Activation, row: ActionEmailRow, trigger: ItopObject, action: ItopObject): Promise<Rendered> {
  const recipientCtx = {
    db: act.ctx.db, log: act.ctx.log, triggerId: trigger.id, actionId: row.id,
    honourNotify: row.ignore_notify === 'no', params: queryArgs(act, trigger, action), change: act.change,
  };
  const fields: Partial<Record<RecipientField, Recipients>> = {};
  for (const field of ['to', 'cc', 'bcc'] as const) fields[field] = await findRecipients(recipientCtx, field, row[field]);
  const params = templateParams(act, trigger, action);
  const apply = (s: string | null): Promise<string> => applyParams(act.env, s ?? '', params);
  return {
    to: fields.to as Recipients, cc: fields.cc as Recipients, bcc: fields.bcc as Recipients,
    from: await apply(row.from), fromLabel: await apply(row.from_label), replyTo: await apply(row.reply_to),
    subject: await apply(row.subject), body: await apply(wrapBody(row.body ?? '', row.html_template_data)),
  };
}

/** Sends or queues; returns iTop's result text. Throws what iTop's DoExecute catches as `Error: ...`. */
async function deliver(act: Activation, row: ActionEmailRow, r: Rendered, action: ItopObject, eventId: number): Promise<string> {
  const test = row.status === 'test';
  const references = objectReference(act.object.cls, act.object.id, act.envId);
  let { body, subject } = r;
  let [to, cc, bcc] = [r.to.value, r.cc.value, r.bcc.value];
  if (test) {
    const link = hyperlink(act.env, 'ActionEmail', row.id, await friendlyName(act.store, action), objectUrl(act.env, 'ActionEmail', row.id), true);
    body += testBanner({ actionLink: link, to, cc, bcc, from: r.from, fromLabel: r.fromLabel, replyTo: r.replyTo, references });
    subject = `TEST[${subject}]`;
    [to, cc, bcc] = [row.test_recipient ?? '', '', ''];
  }
  // Laminas checks each address as it is set: to, cc, bcc, from, reply-to.
  for (const list of [to, cc, bcc, r.from, r.replyTo]) checkAddressList(list);
  const errors = [r.to.error, r.cc.error, r.bcc.error].filter((e): e is string => e !== undefined);
  if (errors.length > 0) return `Notification was not sent: ${errors.join(', ')}`;
  if (r.to.count + r.cc.count + r.bcc.count === 0) return 'No recipient';
  const v2 = v2Message({
    from: r.from, fromLabel: r.fromLabel, subject, body: inlineEmailCss(body), to, cc, bcc, replyTo: r.replyTo,
    references, messageId: messageId(act.object.cls, act.object.id, act.envId, act.ctx.clock.nowMs()),
  });
  const opts = { eventId, forceAsync: row.asynchronous === 'yes', forceSync: row.asynchronous === 'no' };
  const queued = isAsynchronous(act.ctx.config, opts);
  return queueOrSendMail(act.ctx, v2, queued ? opts : { ...opts, transport: act.transport() });
}

/**
 * Runs one ActionEmail (status `enabled` or `test`) for the activation's object and `trigger`. Only a
 * failure to write the event escapes; everything else ends in the event's message.
 */
export async function executeActionEmail(act: Activation, row: ActionEmailRow, trigger: ItopObject, action: ItopObject): Promise<string> {
  const test = row.status === 'test';
  const testRecipient = row.test_recipient ?? '';
  const eventId = act.logNotification
    ? await insertEmailEvent(act.ctx.db, {
        message: test ? `TEST - Notification sent (${testRecipient})` : 'Notification pending',
        date: act.ctx.clock.nowLocal(), userinfo: act.cronLogin, triggerId: trigger.id, actionId: row.id,
        objectId: act.object.id, objectClass: act.object.cls,
      })
    : 0;
  let content = { to: '', cc: '', bcc: '', from: '', subject: '', body: '' };
  let message: string;
  try {
    const r = await render(act, row, trigger, action);
    content = { to: r.to.value, cc: r.cc.value, bcc: r.bcc.value, from: r.from, subject: r.subject, body: sanitizeHtml(r.body) };
    const result = await deliver(act, row, r, action, eventId);
    message = test ? `TEST (${testRecipient}) - ${result}` : result;
  } catch (e) {
    const err = coerceError(e);
    // iTop's exception path records `Error: <message>` without the test-mode prefix.
    message = `Error: ${err.message}`;
    if (err.message !== INVALID_ADDRESS) {
      act.ctx.log.warn({ actionId: row.id, triggerId: trigger.id, err: err.message }, `ActionEmail #${row.id}: ${message}`);
    }
  }
  if (eventId > 0) await updateEmailEvent(act.ctx.db, eventId, { ...content, message });
  act.ctx.log.info(
    { actionId: row.id, triggerId: trigger.id, object: `${act.object.cls}::${act.object.id}`, eventId, result: message },
    'threshold notification',
  );
  return message;
}
