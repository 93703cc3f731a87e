/**
 * The demo's small iTop: our sql/ schema, an administrator, one organization and caller, a UserRequest
 * whose time to own (TTO) ran out an hour ago, a threshold trigger that mails the caller when TTO passes
 * 75 %, one e-mail waiting in the asynchronous queue, and two draft inline images abandoned yesterday.
 * One pass of itop-cron escalates the ticket, sends both mails and removes the drafts.
 */
import { hashItopPassword } from '../auth/hash.js';
import { applySchema } from '../db/schema.js';
import type { Db } from '../db/types.js';
import { createLocalUser } from '../db/users.js';
import { queueMail } from '../mail/queue.js';
import type { Config } from '../config/types.js';
import type { Clock } from '../time/clock.js';

export const DEMO_LOGIN = 'admin';
export const DEMO_TICKET_REF = 'R-000001';
export const DEMO_CALLER = 'claire.caller@demo.example';
export const DEMO_QUEUED_TO = 'helpdesk@demo.example';
export const DEMO_QUEUED_SUBJECT = 'Welcome to the demo: this mail waited in the queue';
export const DEMO_NOTIFICATION_SUBJECT = `Ticket ${DEMO_TICKET_REF} reached 75% of TTO`;
export const DEMO_DRAFT_IMAGES = 2;

const HOUR = 3600_000;

/** A UserRequest on ticket + ticket_request (same id), its TTO deadlines in the past, TTR's ahead. */
async function insertTicket(db: Db, clock: Clock): Promise<void> {
  const now = clock.nowMs();
  const opened = clock.format(now - 5 * HOUR);
  await db.execute(
    `INSERT INTO ${db.table('ticket')} (id, operational_status, ref, org_id, caller_id, title, description, start_date, last_update, finalclass) ` +
      "VALUES (1, 'ongoing', ?, 1, 1, 'The printer on floor 2 is on fire', 'Nobody has taken it yet.', ?, ?, 'UserRequest')",
    [DEMO_TICKET_REF, opened, opened],
  );
  const sw = (code: string, d75: number, d100: number): Record<string, string | number> => ({
    [`${code}_timespent`]: 0, [`${code}_started`]: opened, [`${code}_laststart`]: opened,
    [`${code}_75_deadline`]: clock.format(d75), [`${code}_75_passed`]: 0, [`${code}_75_triggered`]: 0,
    [`${code}_100_deadline`]: clock.format(d100), [`${code}_100_passed`]: 0, [`${code}_100_triggered`]: 0,
  });
  const row = { id: 1, status: 'new', priority: '2', ...sw('tto', now - 2 * HOUR, now - HOUR), ...sw('ttr', now + 20 * HOUR, now + 40 * HOUR) };
  const cols = Object.keys(row);
  await db.execute(
    `INSERT INTO ${db.table('ticket_request')} (${cols.map((c) => `\`${c}\``).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
    Object.values(row),
  );
}

/** TriggerOnThresholdReached (UserRequest, tto, 75) → ActionEmail to the ticket's caller, sent at once. */
async function insertNotification(db: Db): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('priv_trigger')} (id, description, context, complement, subscription_policy, realclass) ` +
      "VALUES (1, 'UserRequest TTO 75% reached', '', 'class restriction: UserRequest', 'allow_no_channel', 'TriggerOnThresholdReached')",
  );
  await db.execute(
    `INSERT INTO ${db.table('priv_trigger_onobject')} (id, target_class, filter, realclass) VALUES (1, 'UserRequest', '', 'TriggerOnThresholdReached')`,
  );
  await db.execute(`INSERT INTO ${db.table('priv_trigger_threshold')} (id, stop_watch_code, threshold_index) VALUES (1, '|tto|', '75')`);
  await db.execute(
    `INSERT INTO ${db.table('priv_action')} (id, name, description, status, asynchronous, realclass) ` +
      "VALUES (1, 'Email caller at 75% TTO', '', 'enabled', 'no', 'ActionEmail')",
  );
  await db.execute(`INSERT INTO ${db.table('priv_action_notification')} (id, language, realclass) VALUES (1, '', 'ActionEmail')`);
  await db.execute(
    `INSERT INTO ${db.table('priv_action_email')} (id, \`from\`, from_label, \`to\`, subject, body, importance, ignore_notify) ` +
      "VALUES (1, 'itop@demo.example', 'iTop Helpdesk', 'SELECT Person WHERE id = :this->caller_id', 'Ticket $this->ref$ reached 75% of TTO', " +
      "'<p>Ticket $this->ref$ ($this->title$) has not been assigned yet.</p>', 'normal', 'yes')",
  );
  await db.execute(`INSERT INTO ${db.table('priv_link_action_trigger')} (link_id, action_id, trigger_id, \`order\`) VALUES (1, 1, 1, 0)`);
}

async function insertPeople(db: Db): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('organization')} (id, name, code, status) VALUES (1, 'Demo Corp', 'DEMO', 'active')`);
  await db.execute(
    `INSERT INTO ${db.table('contact')} (id, name, status, org_id, email, notify, finalclass) VALUES (1, 'Caller', 'active', 1, ?, 'yes', 'Person')`,
    [DEMO_CALLER],
  );
  await db.execute(`INSERT INTO ${db.table('person')} (id, first_name) VALUES (1, 'Claire')`);
}

/** Draft inline images: uploaded in an editor whose form was never saved, expired yesterday. */
async function insertDrafts(db: Db, clock: Clock): Promise<void> {
  const expired = clock.format(clock.nowMs() - 24 * HOUR);
  for (let i = 1; i <= DEMO_DRAFT_IMAGES; i++) {
    await db.execute(
      `INSERT INTO ${db.table('inline_image')} (expire, temp_id, item_class, item_id, contents_mimetype, contents_filename, secret) ` +
        "VALUES (?, ?, 'UserRequest', 0, 'image/png', ?, ?)",
      [expired, `draft-${i}`, `screenshot-${i}.png`, `s${i}`],
    );
  }
}

/** Fills an empty database (the demo's own) with the scenario above. */
export async function seedDemo(db: Db, config: Config, clock: Clock, password: string): Promise<void> {
  await applySchema({ execute: (sql: string) => db.execute(sql) }, db.prefix);
  await createLocalUser(db, { login: DEMO_LOGIN, passwordHash: await hashItopPassword(password), administrator: true });
  await insertPeople(db);
  await insertTicket(db, clock);
  await insertNotification(db);
  await insertDrafts(db, clock);
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  await queueMail({ db, config, clock, log: quiet }, {
    from: { address: 'itop@demo.example', label: 'iTop Helpdesk' },
    subject: DEMO_QUEUED_SUBJECT,
    body: { body: '<p>itop-cron picked this mail from <code>priv_async_send_email</code> and sent it.</p>', mimeType: 'text/html' },
    to: DEMO_QUEUED_TO,
  });
}
