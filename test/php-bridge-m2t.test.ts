// On the real iTop 3.2 with Combodo's mail-to-ticket (shared/reference/itop-3.2-installed), itop-cron in place
// of cron.php: an e-mail in a real IMAP server (a private dovecot, test/helpers/imapServer.ts) becomes a
// ticket through iTop's own EmailBackgroundProcess run by the PHP bridge; an async task of a class that is
// not an e-mail (a test module's AsyncTask subclass) is run by iTop's PHP through itop-cron's ExecAsyncTask,
// with iTop's own bookkeeping; and every row cron.php would run has a runner in `status --json`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { runCli, writeParamFile, type CliResult } from './helpers/cli.js';
import { imapServerMissing, startImapServer } from './helpers/imapServer.js';
import { ADMIN, installedDir, installedItop, realItopMissing, setItopSetting, type InstalledItop } from './helpers/installedItop.js';

const MODULE = readFileSync(join(import.meta.dirname, 'fixtures', 'itop-cron-test-async-task.php'), 'utf8');

/** Mail-to-ticket reads IMAP through PHP's imap extension (Debian's php-imap). */
function phpImapMissing(): string | undefined {
  try {
    return execFileSync('php', ['-r', 'echo extension_loaded("imap") ? "yes" : "no";'], { encoding: 'utf8' }) === 'yes'
      ? undefined
      : "PHP's imap extension is missing (.ci/run installs php-imap)";
  } catch {
    return 'PHP is not installed';
  }
}

const missing = realItopMissing() ?? imapServerMissing() ?? phpImapMissing();

function logLines(r: CliResult): Array<Record<string, unknown>> {
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The classes started in a verbose output's first pass (up to its first `Sleeping...`), in order. */
function firstPassTasks(out: string): string[] {
  const end = out.indexOf('\nSleeping...');
  return [...(end < 0 ? out : out.slice(0, end)).matchAll(/^>> === \S+ \S+ Starting: (\S+)/gm)].map((m) => m[1] ?? '');
}

/** A mail from the Person the fresh database holds (a known caller: no contact is created). */
function message(subject: string): string {
  return [
    'From: My first name My last name <my.email@foo.org>',
    'To: support@example.test',
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${Date.now()}.itop-cron-test@example.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'The printer on the second floor is out of toner.',
    '',
  ].join('\n');
}

test('itop-cron on a real iTop 3.2 with mail-to-ticket', { skip: missing, timeout: 600_000 }, async (t) => {
  const itop: InstalledItop = await installedItop(t, { variant: 'mail2ticket', modulePhp: MODULE });
  const params = writeParamFile(`auth_user=${ADMIN.login}\nauth_pwd=${ADMIN.password}\n`);
  const cli = (args: readonly string[], seconds = 6): Promise<CliResult> =>
    runCli([...args, `--param_file=${params}`, `--itop_root=${itop.root}`], {
      env: { ITOP_CRON_MAX_EXECUTION_TIME: String(seconds), ITOP_CRON_LOG_LEVEL: 'debug' },
      timeoutMs: 120_000,
    });

  // The test module's class has a table of its own, joined to priv_async_task by id (as iTop's setup would create it).
  await itop.db.execute(
    "CREATE TABLE priv_itop_cron_test_async (id INT(11) NOT NULL PRIMARY KEY, marker VARCHAR(255) DEFAULT '', outcome VARCHAR(255) DEFAULT 'ok') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
  );
  /** A planned ItopCronTestAsyncTask (its priv_async_task row and its own row); returns its id. */
  const addAsync = async (marker: string, outcome: string, created = '2026-01-01 00:00:00'): Promise<number> => {
    const row = await itop.db.execute(
      "INSERT INTO priv_async_task (status, created, planned, event_id, remaining_retries, realclass) VALUES ('planned', ?, NULL, 0, 0, 'ItopCronTestAsyncTask')",
      [created],
    );
    await itop.db.execute('INSERT INTO priv_itop_cron_test_async (id, marker, outcome) VALUES (?, ?, ?)', [row.insertId, marker, outcome]);
    return row.insertId;
  };

  await t.test('an e-mail in the IMAP inbox becomes a ticket through iTop\'s EmailBackgroundProcess', async (tt) => {
    const imap = await startImapServer(tt);
    const inbox = await itop.db.execute(
      "INSERT INTO mailinbox_base (server, mailbox, login, password, protocol, port, active, realclass) VALUES (?, 'INBOX', ?, ?, 'imap', ?, 'yes', 'MailInboxStandard')",
      [imap.host, imap.user.login, imap.user.password, imap.port],
    );
    await itop.db.execute(
      "INSERT INTO mailinbox_standard (id, behavior, target_class, unknown_caller_behavior, error_behavior, email_storage, import_additional_contacts) VALUES (?, 'both', 'UserRequest', 'reject_email', 'mark_as_error', 'keep', 'never')",
      [inbox.insertId],
    );
    const subject = `Printer out of toner ${process.pid}`;
    imap.deliver(message(subject));

    // The first run of a fresh tree bootstraps iTop and fills the PHP file opcache before its first task:
    // seconds on a loaded CI machine, hence a run longer than the e-mail needs.
    const r = await cli(['--verbose=1'], 12);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\nEmailBackgroundProcess: Message\(s\) read: 1, message\(s\) skipped: 0, message\(s\) processed: 1, /, r.stdout + imap.log());
    assert.ok(
      logLines(r).some((l) => l['msg'] === 'PHP task answered' && JSON.stringify(l).includes('EmailBackgroundProcess')),
      'EmailBackgroundProcess answered through the PHP bridge',
    );
    assert.match(imap.log(), /Login: user=<support>/);
    const reference = readFileSync(join(installedDir() ?? '', 'outputs', 'cron-m2t-verbose.txt'), 'utf8');
    assert.deepEqual(firstPassTasks(r.stdout), firstPassTasks(reference), "the tasks of cron.php's first pass on this tree, in its order");
    for (const secret of [imap.user.password, ADMIN.password]) assert.ok(!(r.stdout + r.stderr).includes(secret), 'no password in the output');

    const tickets = await itop.db.query<{ title: string; caller_id: number; finalclass: string; description: string }>(
      'SELECT t.title, t.caller_id, t.finalclass, t.description FROM ticket t JOIN ticket_request r ON r.id = t.id WHERE t.title = ?',
      [subject],
    );
    assert.equal(tickets.length, 1, 'one UserRequest titled with the subject');
    assert.equal(tickets[0]?.finalclass, 'UserRequest');
    assert.equal(Number(tickets[0]?.caller_id), 1, 'the caller is the Person whose address sent it');
    assert.match(tickets[0]?.description ?? '', /out of toner/, 'the body is the description');

    const s = await cli(['status', '--json']);
    const report = JSON.parse(s.stdout) as { tasks: Array<{ className: string; runner: string; status: string }> };
    const runner = Object.fromEntries(report.tasks.map((x) => [x.className, x.runner]));
    assert.equal(runner['EmailBackgroundProcess'], 'php');
    assert.deepEqual(report.tasks.filter((x) => x.runner === 'none').map((x) => x.className), [], 'every registry row has a runner');
    assert.equal(report.tasks.length, 11, "the 11 rows cron.php creates on this tree (outputs/cron-m2t-verbose.txt)");
  });

  await t.test("an async task of a non-mail class runs in iTop's PHP through itop-cron's ExecAsyncTask", async () => {
    const good = await addAsync('itop-cron-test-async.json', 'ok');
    const bad = await addAsync('never-written.json', 'fail');

    const r = await cli(['--verbose=1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /left alone: itop-cron does not implement that class/);

    const markerFile = join(itop.root, 'data', 'itop-cron-test-async.json');
    assert.ok(existsSync(markerFile), `DoProcess wrote its marker\n${r.stdout}\n${r.stderr}`);
    const marker = JSON.parse(readFileSync(markerFile, 'utf8')) as { id: number; status: string; context: string[] };
    assert.equal(marker.id, good);
    assert.equal(marker.status, 'running', "iTop's MarkAsRunning ran before DoProcess");
    assert.ok(marker.context.includes('CRON:Task:ExecAsyncTask'), `run under ExecAsyncTask's context tag: ${marker.context.join(', ')}`);
    assert.ok(!existsSync(join(itop.root, 'data', 'never-written.json')));

    const rows = await itop.db.query<{ id: number; status: string; last_error: string; last_error_code: number; planned: string | null }>(
      "SELECT id, status, last_error, last_error_code, planned FROM priv_async_task WHERE realclass = 'ItopCronTestAsyncTask' ORDER BY id",
    );
    assert.deepEqual(
      rows.map((x) => ({ ...x, id: Number(x.id), last_error_code: Number(x.last_error_code) })),
      [{ id: bad, status: 'error', last_error: 'the test task failed on purpose', last_error_code: 42, planned: null }],
      "the done task deleted, the failed one in error with iTop's HandleError bookkeeping (no retries configured)",
    );
    const planned = await itop.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM priv_async_task WHERE status = 'planned'");
    assert.equal(Number(planned[0]?.n), 0, 'no async task left planned');
  });

  await t.test("an async task hung in iTop's PHP is killed at ExecAsyncTask's deadline, counted as a failed attempt, and the next task runs", async () => {
    const hung = await addAsync('hung.json', 'hang', '2026-01-01 00:00:02');
    const after = await addAsync('after-hung.json', 'ok', '2026-01-01 00:00:03');
    setItopSetting(itop.configFile, 'itop_cron.task_deadlines', "'ExecAsyncTask=2'");
    try {
      const r = await cli(['--verbose=1'], 10);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /ExecAsyncTask exceeded its hard deadline of 2s/);
      const rows = await itop.db.query<{ id: number; status: string; last_error: string }>(
        'SELECT id, status, last_error FROM priv_async_task WHERE id IN (?, ?)',
        [hung, after],
      );
      assert.equal(rows.length, 1, `the task after the hung one ran and was deleted\n${r.stdout}`);
      assert.equal(Number(rows[0]?.id), hung);
      assert.equal(rows[0]?.status, 'error', 'no retries configured: the killed attempt ends the task, never left running');
      assert.match(rows[0]?.last_error ?? '', /Interrupted in iTop's PHP/);
      assert.ok(existsSync(join(itop.root, 'data', 'after-hung.json')));
    } finally {
      setItopSetting(itop.configFile, 'itop_cron.task_deadlines', "''");
    }
  });
});
