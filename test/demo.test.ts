/**
 * `itop-cron demo` as a newcomer runs it: the built CLI, no database server of the suite, no configuration,
 * a temporary directory of its own (TMPDIR) that must be empty again afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import mysql from 'mysql2/promise';
import { runCli } from './helpers/cli.js';

/** A TMPDIR for one demo, removed after the test (it must be empty by then when the demo cleaned up). */
function privateTmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'itop-demo-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('demo: escalates the ticket, sends the queued mail and the notification, removes the drafts, then everything', async (t) => {
  const tmp = privateTmp(t);
  const started = Date.now();
  const r = await runCli(['demo'], { env: { TMPDIR: tmp }, cwd: tmp, timeoutMs: 90_000 });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /CheckStopWatchThresholds: Triggered 2 threshold\(s\):UserRequest::1 tto 75, UserRequest::1 tto 100/);
  assert.match(r.stdout, /escalated it \(status new -> escalated_tto\)/);
  assert.match(r.stdout, /an e-mail to the caller claire\.caller@demo\.example/);
  assert.match(r.stdout, /to claire\.caller@demo\.example: Ticket R-000001 reached 75% of TTO/);
  assert.match(r.stdout, /to helpdesk@demo\.example: Welcome to the demo/);
  assert.match(r.stdout, /2 expired draft images .* removed by InlineImageGC/);
  assert.match(r.stdout, /Removed the server and its temporary directory\./);
  assert.doesNotMatch(r.stdout + r.stderr, /NOT|Error|at .*\.js:\d+/);
  assert.deepEqual(readdirSync(tmp), [], 'the demo left files behind');
  assert.ok(seconds < 30, `the demo took ${seconds.toFixed(1)} s`);
});

test('demo --keep: the server stays up and the printed command runs against it', async (t) => {
  const tmp = privateTmp(t);
  const r = await runCli(['demo', '--keep'], { env: { TMPDIR: tmp }, cwd: tmp, timeoutMs: 90_000 });
  const pid = /pid (\d+), port (\d+)/.exec(r.stdout);
  t.after(() => {
    if (pid?.[1] !== undefined) try { process.kill(Number(pid[1]), 'SIGKILL'); } catch { /* gone */ }
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(pid, r.stdout);
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: Number(pid[2]), user: 'root', password: '', database: 'itop_demo' });
  try {
    const [rows] = await conn.query('SELECT status FROM ticket_request WHERE id = 1');
    assert.deepEqual(rows, [{ status: 'escalated_tto' }]);
  } finally {
    await conn.end();
  }
  const cmd = /^ {2}itop-cron (status --config=\S+ --param_file=\S+)$/m.exec(r.stdout);
  assert.ok(cmd?.[1], r.stdout);
  const status = await runCli(cmd[1].split(' '), { cwd: tmp });
  assert.match(status.stdout, /CheckStopWatchThresholds/);
  assert.doesNotMatch(status.stdout, /^Error/m);
});

test('demo without the MariaDB binaries: one line naming the package, exit 255, nothing left', async (t) => {
  const tmp = privateTmp(t);
  const empty = mkdtempSync(join(tmp, 'bin-'));
  const r = await runCli(['demo', `--mysql_bindir=${empty}`], { env: { TMPDIR: tmp }, cwd: tmp });
  rmSync(empty, { recursive: true });
  assert.equal(r.code, 255);
  assert.equal(r.stdout, 'Error: mariadb-install-db not found: install the MariaDB server (Debian/Ubuntu: apt-get install mariadb-server; RHEL/Fedora: dnf install mariadb-server)\n');
  assert.equal(r.stderr, '');
  assert.deepEqual(readdirSync(tmp), []);
});

test('demo with a bad argument: one line, exit 254', async () => {
  const r = await runCli(['demo', '--kep']);
  assert.equal(r.code, 254);
  assert.equal(r.stdout, "Error: Unexpected argument '--kep' for demo (see itop-cron demo --help)\n");
});
