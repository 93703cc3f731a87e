/**
 * Threshold notifications: what iTop does after CheckStopWatchThresholds has marked a threshold. The TriggerOnThresholdReached of the object's class and parent
 * classes for that stopwatch and threshold are taken by description; each one whose filter and context
 * accept the object runs its actions by link order; disabled actions are skipped, ActionEmail runs (test
 * mode included); other action classes are not implemented by itop-cron and are logged.
 */
import { hostname } from 'node:os';
import { settingBool, settingInt, settingString } from '../config/php.js';
import type { Config } from '../config/types.js';
import { cronMailSettings } from '../mail/queue.js';
import { createMailTransport, type MailTransport } from '../mail/transport.js';
import type { TaskContext } from '../tasks/types.js';
import { executeActionEmail, type ActionEmailRow, type Activation } from './actionEmail.js';
import './classes.js';
import { classPath } from './datamodel.js';
import { changeTracker, ensureAppPreferences } from './events.js';
import { environmentId } from './mailParts.js';
import { argumentValue, createObjectStore, type ItopObject, type ObjectStore } from './objectArgs.js';
import type { RenderEnv } from './templates.js';
import { actionLinks, contextMatches, filterMatches, selectTriggers, type TriggerRow } from './triggers.js';

/** A threshold that was just marked triggered (what CheckStopWatchThresholds reports). */
export interface ThresholdHit {
  /** The object's class, e.g. 'UserRequest'. */
  readonly class: string;
  /** The class and its parents; default: from itop-cron's data model. */
  readonly classPath?: readonly string[];
  readonly id: number;
  /** The stopwatch attribute code, e.g. 'tto'. */
  readonly stopwatch: string;
  /** The threshold index, e.g. 75. */
  readonly threshold: number | string;
}

/** `app_root_url` with its trailing slash; `$SERVER_NAME$` becomes this host's name. */
export function appRootUrl(config: Config): string {
  const url = settingString(config.settings, 'app_root_url', '').replace(/\$SERVER_NAME\$/g, hostname());
  return url === '' || url.endsWith('/') ? url : `${url}/`;
}

/** The envId of Message-IDs: md5 of iTop's root (`itop_cron.app_root` overrides the one configured). */
function envIdOf(config: Config): string {
  return environmentId(settingString(config.settings, 'itop_cron.app_root', config.appRoot ?? '/'));
}

interface CronUser {
  login: string;
  contactid: number | null;
}

async function activation(ctx: TaskContext, store: ObjectStore, object: ItopObject, transport: () => MailTransport): Promise<Activation> {
  const users = await ctx.db.query<CronUser>(`SELECT login, contactid FROM ${ctx.db.table('priv_user')} WHERE id = ?`, [ctx.userId]);
  const contactId = Number(users[0]?.contactid ?? 0);
  const env: RenderEnv = {
    store, appUrl: appRootUrl(ctx.config), clock: ctx.clock,
    maxLinksetOutput: settingInt(ctx.config.settings, 'max_linkset_output', 100),
  };
  return {
    ctx, store, env, object, transport,
    cronLogin: users[0]?.login ?? '',
    currentContactId: contactId,
    currentUser: await store.load('User', ctx.userId),
    currentContact: await store.load('Contact', contactId),
    change: changeTracker(ctx.db, ctx.userId, () => ctx.clock.nowLocal()),
    envId: envIdOf(ctx.config),
    logNotification: settingBool(ctx.config.settings, 'log_notification', true),
  };
}

async function loadAction(ctx: TaskContext, id: number): Promise<(ActionEmailRow & { realclass: string }) | undefined> {
  const { db } = ctx;
  const rows = await db.query<ActionEmailRow & { realclass: string }>(
    'SELECT a.id, a.name, a.status, a.asynchronous, a.realclass, n.language, e.test_recipient, e.`from`, e.from_label, ' +
      'e.reply_to, e.reply_to_label, e.`to`, e.cc, e.bcc, e.subject, e.body, e.ignore_notify, e.html_template_data ' +
      `FROM ${db.table('priv_action')} AS a LEFT JOIN ${db.table('priv_action_notification')} AS n ON n.id = a.id ` +
      `LEFT JOIN ${db.table('priv_action_email')} AS e ON e.id = a.id WHERE a.id = ?`,
    [id],
  );
  return rows[0];
}

/** Runs the actions of one trigger that accepted the object. */
async function runTrigger(act: Activation, t: TriggerRow, prepared: { done: boolean }): Promise<void> {
  const { ctx, store } = act;
  const trigger = await store.load('Trigger', t.id);
  if (trigger === undefined) return;
  for (const link of await actionLinks(ctx.db, t.id)) {
    const row = await loadAction(ctx, link.action_id);
    if (row === undefined) {
      ctx.log.warn({ triggerId: t.id, linkId: link.link_id, actionId: link.action_id }, 'trigger linked to a missing action');
      continue;
    }
    if (row.status !== 'enabled' && row.status !== 'test') continue;
    if (row.realclass !== 'ActionEmail') {
      ctx.log.warn({ triggerId: t.id, actionId: row.id, class: row.realclass }, `${row.realclass} is not run by itop-cron`);
      continue;
    }
    const action = await store.load('Action', row.id);
    if (action === undefined) continue;
    if (!prepared.done) {
      prepared.done = true;
      await ensureAppPreferences(ctx.db, ctx.userId);
    }
    await executeActionEmail(act, row, trigger, action);
  }
}

/**
 * Activates the TriggerOnThresholdReached for a threshold just marked on an object, as iTop does after
 * saving the mark. Resolves when every action ran (mails sent or queued, events written). Rejects with a
 * TriggerError (iTop's `<message> (<trigger>)`) when a trigger's filter cannot be evaluated, or with a
 * database error: as in iTop, the threshold stays marked and the rest of the object's triggers are lost.
 */
export async function activateThresholdTriggers(ctx: TaskContext, hit: ThresholdHit): Promise<void> {
  // An iTop without the notification tables (a partial schema) has no trigger to run.
  if (!(await ctx.db.hasTable('priv_trigger_threshold'))) return;
  const path = hit.classPath ?? classPath(hit.class);
  const triggers = await selectTriggers(ctx.db, path.length > 0 ? path : [hit.class], hit.stopwatch, String(hit.threshold));
  if (triggers.length === 0) return;
  const store = createObjectStore(ctx.db);
  const object = await store.load(hit.class, hit.id);
  if (object === undefined) {
    ctx.log.warn({ class: hit.class, id: hit.id }, 'threshold notification: object not found');
    return;
  }
  let transport: MailTransport | undefined;
  const act = await activation(ctx, store, object, () => (transport ??= createMailTransport(cronMailSettings(ctx.config), ctx.log)));
  const params = async (name: string) => {
    const [p, att] = name.split('->');
    return p === 'this' && att !== undefined ? argumentValue(store, object, att) : undefined;
  };
  const prepared = { done: false };
  try {
    for (const t of triggers) {
      if (!(await filterMatches(ctx.db, t, object.id, params))) continue;
      if (!contextMatches(t)) {
        ctx.log.debug({ triggerId: t.id, context: t.context }, 'trigger skipped: context not in CRON');
        continue;
      }
      await runTrigger(act, t, prepared);
    }
  } finally {
    transport?.close();
  }
}
