/**
 * The log never stops the cron (issue 16 item 2): a log file that is a directory, on a full disk
 * (/dev/full, a tmpfs that fills during the run), a size rotation that cannot rename, several processes
 * rotating one file at once. The log goes to stderr from the first error on, said once in one line;
 * the tasks run and the exit code is the one of a run with a healthy log.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { cliEnv, makeItopRoot, REPO, runCli, writeParamFile, type CliResult } from './helpers/cli.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'Log.Pa55word';
const NOTICE = /"msg":"cannot write the log to '([^']+)' \(([A-Z]+)\): logging to stderr from now on"/g;

async function runWithLog(t: TestContext, logFile: string, settings: Record<string, string | number | boolean> = {}): Promise<CliResult> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const root = makeItopRoot(db, settings);
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  return runCli([`--itop_root=${root}`, `--param_file=${params}`, '--verbose=1', `--log_file=${logFile}`], {
    env: cliEnv(db, { ITOP_CRON_LOG_LEVEL: 'debug' }),
  });
}

/** The run went on as with a healthy log: same exit code, tasks started, one notice naming `file`. */
function assertRanDespite(r: CliResult, healthy: CliResult, file: string, code: string): void {
  assert.equal(r.code, healthy.code, r.stdout + r.stderr);
  assert.match(r.stdout, /Starting: /);
  assert.match(r.stdout, /Exiting: /);
  const notices = [...r.stderr.matchAll(NOTICE)];
  assert.equal(notices.length, 1, `one notice: ${r.stderr}`);
  assert.deepEqual([notices[0]?.[1], notices[0]?.[2]], [file, code]);
  assert.ok(r.stderr.split('\n').filter((l) => l.startsWith('{')).length > 1, 'the log lines go to stderr instead');
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
}

test('a log file that is a directory, on a full disk or a FIFO without a reader does not stop the run', async (t) => {
  const healthy = await runWithLog(t, join(tempDir('itop-cron-log-'), 'cron.log'));
  assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
  assert.match(healthy.stdout, /Starting: /);
  const dir = tempDir('itop-cron-log-');
  assertRanDespite(await runWithLog(t, dir), healthy, dir, 'EISDIR');
  assertRanDespite(await runWithLog(t, '/dev/full'), healthy, '/dev/full', 'ENOSPC');
  const fifo = join(dir, 'no-reader.log');
  execFileSync('mkfifo', [fifo]);
  assertRanDespite(await runWithLog(t, fifo), healthy, fifo, 'ENXIO');
});

test('a disk that fills during the run: the log moves to stderr, the run goes on', { skip: process.getuid?.() !== 0 }, async (t) => {
  const mnt = tempDir('itop-cron-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  t.after(() => execFileSync('umount', [mnt]));
  // fill it but for about 2 KB: the first lines fit, the next ones fail
  const fill = join(mnt, 'fill');
  try {
    writeFileSync(fill, Buffer.alloc(64 * 1024));
  } catch {
    // ENOSPC: filled
  }
  execFileSync('truncate', ['-s', `-${2 * 1024}`, fill]);
  const healthy = await runWithLog(t, join(tempDir('itop-cron-log-'), 'cron.log'));
  const log = join(mnt, 'cron.log');
  const r = await runWithLog(t, log);
  assertRanDespite(r, healthy, log, 'ENOSPC');
});

test('a size rotation that cannot move the old file aside does not stop the run', async (t) => {
  const dir = tempDir('itop-cron-log-');
  const log = join(dir, 'cron.log');
  writeFileSync(log, 'x'.repeat(4096));
  mkdirSync(join(dir, 'cron.log.1')); // the rotated name is taken by a directory
  writeFileSync(join(dir, 'cron.log.1', 'keep'), '');
  const settings = { 'itop_cron.log_rotate': '1KB', 'itop_cron.log_rotate_keep': 1 };
  const healthy = await runWithLog(t, join(tempDir('itop-cron-log-'), 'cron.log'), settings);
  assertRanDespite(await runWithLog(t, log, settings), healthy, log, 'EISDIR');
});

/** A process logging `lines` lines through the built logger to `file`, rotated at 2 KB. */
function logger(file: string, lines: number): Promise<{ code: number | null; stderr: string }> {
  const script = `
    import { createLogger } from ${JSON.stringify(join(REPO, 'dist', 'output', 'logger.js'))};
    const log = createLogger({ destination: ${JSON.stringify(file)}, level: 'info' }, [], { policy: { kind: 'size', maxBytes: 2048 }, keep: 3 });
    for (let i = 0; i < ${lines}; i++) log.info({ i, pid: process.pid }, 'a line of the shared log');
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('four processes rotating one file at once: no error, no fallback, only the kept files', async () => {
  const dir = tempDir('itop-cron-log-');
  const file = join(dir, 'shared.log');
  const results = await Promise.all([1, 2, 3, 4].map(() => logger(file, 3000)));
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no fallback to stderr: the rotation itself never fails');
  }
  assert.deepEqual(readdirSync(dir).sort(), ['shared.log', 'shared.log.1', 'shared.log.2', 'shared.log.3']);
});
