/**
 * A retry date past what a DATETIME holds (issue 16 item 5): under `max_retries` 60 with exponential delay,
 * the last retry of a task is 600 s × 2^59 away, past year 9999. The date is clamped to the column's
 * largest value, nothing throws, and the rest of the queue is sent.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { encodeV2 } from '../src/mail/v2Message.js';
import { planFailure } from '../src/tasks/asyncRetry.js';
import { createClock } from '../src/time/clock.js';
import { makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { startSmtpSink, type SmtpSink } from './helpers/smtpSink.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const PWD = 'Retry.Clamp-Pa55';
const LATEST = '9999-12-31 23:59:59';

async function sink(t: TestContext): Promise<SmtpSink> {
  const s = await startSmtpSink();
  t.after(() => s.close());
  return s;
}

async function insertMail(db: TestDb, subject: string, o: { status?: string; started?: string; lastAttempt?: string; remaining?: number } = {}): Promise<number> {
  const r = await db.execute(
    `INSERT INTO ${db.table('priv_async_task')} (status, created, started, planned, event_id, remaining_retries, last_error, last_attempt, realclass) ` +
      "VALUES (?, '2026-01-01 00:00:00', ?, '2026-01-01 00:00:00', 0, ?, '', ?, 'AsyncSendEmail')",
    [o.status ?? 'planned', o.started ?? null, o.remaining ?? 0, o.lastAttempt ?? null],
  );
  const message = encodeV2({ from: { address: 'itop@example.com', label: 'iTop' }, to: 'u@example.com', subject, body: { body: `<p>${subject}</p>`, mimeType: 'text/html' } });
  await db.execute(`INSERT INTO ${db.table('priv_async_send_email')} (id, version, \`to\`, subject, message) VALUES (?, 2, 'u@example.com', ?, ?)`, [r.insertId, subject, message]);
  return r.insertId;
}

test('planFailure clamps a retry date past year 9999 to the largest DATETIME, and never throws', () => {
  const clock = createClock('Europe/Paris', () => Date.parse('2026-11-24T00:19:00+01:00'));
  const row = { last_attempt: '2026-11-24 00:00:00', remaining_retries: 1 };
  const plan = planFailure(row, { maxRetries: 60, retryDelay: 600, exponentialDelay: true }, 'boom', 0, clock);
  assert.equal(plan.update.planned, LATEST);
  assert.equal(plan.update.status, 'planned');
  assert.equal(plan.update.remainingRetries, 0);
  assert.equal(plan.retryIn, Math.floor((clock.parse(LATEST) - clock.nowMs()) / 1000));
  assert.match(plan.eventMessage, new RegExp(`Next retry in ${plan.retryIn}s$`));
  // Larger still: 2^1000 is Infinity in a double; PHP_INT_MAX as the delay.
  for (const policy of [
    { maxRetries: 1001, retryDelay: 600, exponentialDelay: true },
    { maxRetries: 3, retryDelay: Number.MAX_SAFE_INTEGER, exponentialDelay: false },
  ]) {
    assert.equal(planFailure({ last_attempt: null, remaining_retries: 0 }, policy, 'boom', 0, clock).update.planned === null, false);
    assert.equal(planFailure({ last_attempt: 'x', remaining_retries: 1 }, policy, 'boom', 0, clock).update.planned, LATEST);
  }
});

test('the built CLI: a stuck row whose retry overflows is requeued at the latest date, and the 5 new mails are sent', async (t) => {
  const db = await createTestDb(t);
  const s = await sink(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const stuck = await insertMail(db, 'stuck', { status: 'running', started: '2026-01-01 00:00:00', lastAttempt: '2026-01-01 00:00:00', remaining: 1 });
  for (const subject of ['m1', 'm2', 'm3', 'm4', 'm5']) await insertMail(db, subject);
  const root = makeItopRoot(db, { email_transport: 'SMTP', 'email_transport_smtp.host': s.host, 'email_transport_smtp.port': s.port });
  const file = join(root, 'conf', 'production', 'config-itop.php');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace(
      '$MySettings = array(\n',
      "$MySettings = array(\n\t'async_task_retries' => array('AsyncSendEmail' => array('max_retries' => 60, 'retry_delay' => 600, 'exponential_delay' => true)),\n",
    ),
  );
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const r = await runCli([`--param_file=${params}`, `--itop_root=${root}`, '--verbose=1'], { env: { ITOP_CRON_MAX_EXECUTION_TIME: '4', ITOP_CRON_LOG_LEVEL: 'warn' } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /Invalid time value|ERROR/, r.stdout + r.stderr);
  assert.match(r.stdout, /\nExecAsyncTask: processed 5 tasks\n/, r.stdout);
  assert.deepEqual(s.messages.map((m) => m.parsed.subject).sort(), ['m1', 'm2', 'm3', 'm4', 'm5']);
  const rows = await db.query<{ id: number; status: string; planned: string | null; remaining_retries: number }>(
    `SELECT id, status, planned, remaining_retries FROM ${db.table('priv_async_task')}`,
  );
  assert.deepEqual(rows.map((x) => [Number(x.id), x.status, x.planned, Number(x.remaining_retries)]), [[stuck, 'planned', LATEST, 0]]);
});
