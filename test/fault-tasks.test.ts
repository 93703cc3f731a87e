/**
 * Fault injection inside real tasks (issue 5): an SMTP server that hangs cannot block the run (ExecAsyncTask
 * is aborted at its hard deadline and the loop goes on); `kill -9` during an e-mail send leaves a row that
 * the next run puts back in the queue and sends, so no e-mail is lost; `kill -9` during a backup never
 * leaves a half-written archive where iTop lists its backups.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeV2 } from '../src/mail/v2Message.js';
import { cliEnv, makeItopRoot, writeParamFile } from './helpers/cli.js';
import { OutputRecorder, waitFor } from './helpers/fault.js';
import { startSmtpSink, type SmtpSink } from './helpers/smtpSink.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const PWD = 'Fault.Tasks-Pwd2';
const recorder = new OutputRecorder();

async function setup(t: Parameters<typeof createTestDb>[0]): Promise<{ db: TestDb; params: string }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  return { db, params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`) };
}

/** A queued e-mail as iTop writes it (priv_async_task + priv_async_send_email, format V2). */
async function queueEmail(db: TestDb, subject: string): Promise<number> {
  const root = await db.execute(
    `INSERT INTO ${db.table('priv_async_task')} (status, created, started, planned, event_id, remaining_retries, last_error_code, last_error, last_attempt, realclass) ` +
      "VALUES ('planned', NOW(), NULL, NULL, 0, 0, 0, '', NULL, 'AsyncSendEmail')",
  );
  const message = encodeV2({ from: { address: 'itop@example.com', label: 'iTop' }, to: 'user@example.com', subject, body: { body: '<p>x</p>', mimeType: 'text/html' } });
  await db.execute(`INSERT INTO ${db.table('priv_async_send_email')} (id, version, \`to\`, subject, message) VALUES (?, 2, 'user@example.com', ?, ?)`, [
    root.insertId, subject, message,
  ]);
  return root.insertId;
}

/** An iTop root sending through `sink`, five retries without delay, ExecAsyncTask's hard deadline 2 s. */
function mailRoot(db: TestDb, sink: SmtpSink, settings: Record<string, string | number>): string {
  const root = makeItopRoot(db, {
    cron_sleep: 1,
    email_transport: 'SMTP',
    'email_transport_smtp.host': sink.host,
    'email_transport_smtp.port': sink.port,
    'itop_cron.task_deadlines': 'ExecAsyncTask=2',
    ...settings,
  });
  const file = join(root, 'conf', 'production', 'config-itop.php');
  const retries = "\t'async_task_retries' => array('AsyncSendEmail' => array('max_retries' => 5, 'retry_delay' => 0)),\n";
  writeFileSync(file, readFileSync(file, 'utf8').replace('$MySettings = array(\n', `$MySettings = array(\n${retries}`));
  return root;
}

async function asyncRow(db: TestDb, id: number): Promise<{ status: string; remaining_retries: number } | undefined> {
  return (await db.query<{ status: string; remaining_retries: number }>(
    `SELECT status, remaining_retries FROM ${db.table('priv_async_task')} WHERE id = ?`, [id],
  ))[0];
}

async function task(db: TestDb, cls: string): Promise<Record<string, string | number> | undefined> {
  return (await db.query<Record<string, string | number>>(`SELECT * FROM ${db.table('priv_backgroundtask')} WHERE class_name = ?`, [cls]))[0];
}

test('a hanging SMTP server, then kill -9 during a send: the run goes on, and the e-mail is finally sent once', async (t) => {
  const { db, params } = await setup(t);
  const id = await queueEmail(db, 'not lost');
  const hang = await startSmtpSink({ hang: true });
  t.after(() => hang.close());

  // 1. The server never answers DATA: ExecAsyncTask is aborted at 2 s, the other tasks keep running.
  const root1 = mailRoot(db, hang, { cron_max_execution_time: 3 });
  const r1 = await recorder.run('hanging SMTP', [`--param_file=${params}`, `--itop_root=${root1}`, '--verbose=1'], { env: cliEnv(db), timeoutMs: 40_000 });
  assert.equal(r1.code, 0, r1.stdout + r1.stderr);
  assert.match(r1.stdout, /\nExecAsyncTask: Processing failed with message: ExecAsyncTask exceeded its hard deadline of 2s and was aborted\n/);
  assert.match(r1.stdout, /Reached normal execution time limit/);
  const timeouts = r1.stderr.split('\n').filter((l) => l.includes('"task":"ExecAsyncTask"') && l.includes('"outcome":"timeout"'));
  assert.equal(timeouts.length, 1);
  assert.ok((JSON.parse(timeouts[0] ?? '{}') as { duration: number }).duration >= 1.9, 'recorded with its duration');
  assert.match(r1.stdout, /\nExecAsyncTask: Processing failed with message: .+\n(?:.*\n)*?>> === .+ Starting: InlineImageGC =+\n/, 'the loop went on');
  assert.equal((await asyncRow(db, id))?.status, 'running', 'interrupted mid-send: still there, not lost');

  // 2. Recovered as a failed attempt, sent again to a hanging server, and the daemon is killed mid-send.
  const hang2 = await startSmtpSink({ hang: true });
  t.after(() => hang2.close());
  const root2 = mailRoot(db, hang2, { cron_max_execution_time: 30, 'itop_cron.async_running_timeout': 1 });
  let child: import('node:child_process').ChildProcess | undefined;
  const r2 = recorder.run('kill -9 during a send', [`--param_file=${params}`, `--itop_root=${root2}`], { env: cliEnv(db), onSpawn: (c) => (child = c) });
  await waitFor('the e-mail to be on the wire', () => hang2.connections() > 0);
  await new Promise((resolve) => setTimeout(resolve, 300));
  child?.kill('SIGKILL');
  assert.equal((await r2).signal, 'SIGKILL');
  assert.equal((await asyncRow(db, id))?.status, 'running');
  assert.equal(Number((await task(db, 'ExecAsyncTask'))?.['running']), 1);

  // 3. A working server: the row goes back to the queue with an attempt counted, then it is sent and deleted.
  const good = await startSmtpSink();
  t.after(() => good.close());
  // The row is stuck until 1 s after its start (async_running_timeout), is requeued at the pass that sees it
  // (planned = that pass's time, retry_delay 0) and is due at the next ExecAsyncTask pass, 2 s later: when
  // step 2 ended within the same second as this run starts, that is the third pass, 4 s in. 8 s leaves room.
  const root3 = mailRoot(db, good, { cron_max_execution_time: 8, 'itop_cron.async_running_timeout': 1 });
  const r3 = await recorder.run('after the kill', [`--param_file=${params}`, `--itop_root=${root3}`], { env: cliEnv(db) });
  assert.equal(r3.code, 0, r3.stdout + r3.stderr);
  assert.match(r3.stderr, /Interrupted while running \(started .+\); requeued/);
  assert.equal(good.messages.length, 1, `delivered exactly once:\n${r3.stdout}${r3.stderr}`);
  assert.equal(good.messages[0]?.parsed.subject, 'not lost');
  assert.equal(await asyncRow(db, id), undefined, 'sent, then deleted');
  assert.equal(Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.table('priv_async_send_email')}`))[0]?.n), 0);
  assert.equal(Number((await task(db, 'ExecAsyncTask'))?.['running']), 0);
});

/** Every `*.tar.gz` iTop would list in `dir` must be a complete archive holding the dump. */
function assertArchivesComplete(dir: string): string[] {
  const archives = existsSync(dir) ? readdirSync(dir).filter((n) => !n.startsWith('.') && n.endsWith('.tar.gz')) : [];
  for (const name of archives) {
    const listing = execFileSync('tar', ['-tzf', join(dir, name)], { encoding: 'utf8' });
    assert.match(listing, /(^|\n)itop-dump\.sql\n/, `${name} is complete`);
  }
  return archives;
}

test('kill -9 during a backup (dump, then archive): never a half-written archive; the next backup is complete', async (t) => {
  const { db, params } = await setup(t);
  const root = makeItopRoot(db, { cron_max_execution_time: 30, cron_sleep: 1 });
  const dir = join(root, 'data', 'backups', 'auto');
  const due = async (): Promise<void> => {
    await db.execute(`DELETE FROM ${db.table('priv_backgroundtask')} WHERE class_name = 'BackupExec'`);
    await db.execute(
      `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, next_run_date, total_exec_count, latest_run_duration, min_run_duration, ` +
        "max_run_duration, average_run_duration, running, status, system_user) VALUES ('BackupExec', '2000-01-01 00:00:00', 0, 0, 99999.999, 0, 0, 0, 'active', '')",
    );
  };
  for (const marker of ['Starting backup of', 'backup: adding to archive files']) {
    await due();
    let child: import('node:child_process').ChildProcess | undefined;
    const run = recorder.run(`kill -9 at '${marker}'`, [`--param_file=${params}`, `--itop_root=${root}`], {
      env: cliEnv(db),
      onSpawn: (c) => {
        child = c;
        let seen = '';
        c.stdout?.on('data', (d: Buffer) => {
          seen += d.toString();
          if (seen.includes(marker)) c.kill('SIGKILL');
        });
      },
    });
    const r = await run;
    assert.equal(r.signal, 'SIGKILL', `killed at '${marker}': ${r.stdout}${r.stderr}`);
    assert.ok(child !== undefined);
    assertArchivesComplete(dir);
  }
  await due();
  const r = await recorder.run('backup after the kills', [`--param_file=${params}`, `--itop_root=${root}`], {
    env: cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '3' }),
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(assertArchivesComplete(dir).length >= 1, r.stdout);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.itop-cron-backup-')), [], 'work folders of the killed runs removed');
  assert.equal(Number((await task(db, 'BackupExec'))?.['running']), 0);
});

test('no output of this suite contains the password', (t) => {
  assert.ok(recorder.count > 0);
  t.diagnostic(`${recorder.count} outputs scanned for the password`);
  recorder.assertNever(PWD);
});
