/**
 * The scheduling lines of the README run as written: the crontab line through `sh -c` (as cron runs it),
 * with only its paths replaced; and what a scheduler does to the runner (a second start during a pass,
 * a stop signal) ends cleanly.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { lockName } from '../src/db/lock.js';
import { BIN, cliEnv, makeItopRoot, REPO, runCli, writeParamFile } from './helpers/cli.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'Cr0ntab.Secret';

/** The documented crontab line: `*\/5 * * * * <command>` in docs/scheduling.md's "Linux crontab" section. */
function documentedCrontabLine(): { schedule: string; command: string } {
  const readme = readFileSync(join(REPO, 'docs', 'scheduling.md'), 'utf8');
  const start = readme.indexOf('## Linux crontab');
  assert.ok(start >= 0, 'docs/scheduling.md has a "## Linux crontab" subsection');
  const section = readme.slice(start, readme.indexOf('\n##', start + 5));
  const lines = section.split('\n').filter((l) => /^\s*(\S+\s+){5}\/\S*itop-cron /.test(l));
  assert.equal(lines.length, 1, 'exactly one crontab line');
  const fields = lines[0]!.trim().split(/\s+/);
  return { schedule: fields.slice(0, 5).join(' '), command: fields.slice(5).join(' ') };
}

/** Replaces `from` by `to` in `s`, failing when the README no longer says `from`. */
function substitute(s: string, from: string, to: string): string {
  assert.ok(s.includes(from), `the crontab line names ${from}: ${s}`);
  return s.split(from).join(to);
}

async function setup(t: Parameters<typeof createTestDb>[0], settings: Record<string, number> = {}): Promise<{ db: TestDb; params: string }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const root = makeItopRoot(db, settings);
  // The parameter file as the README says: credentials and the iTop root, nothing else.
  return { db, params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\nitop_root=${root}\n`) };
}

/** Runs `command` as cron does: `/bin/sh -c`, a minimal environment, no terminal. */
function shell(command: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // cron's PATH is /usr/bin:/bin; node's own directory is added as the README tells nvm users to.
    const env = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: cwd, SHELL: '/bin/sh', LOGNAME: 'www-data' };
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test("the README's crontab line runs as written and appends the pass's lines to the log", async (t) => {
  const { schedule, command } = documentedCrontabLine();
  assert.equal(schedule, '*/5 * * * *');
  const { params } = await setup(t, { cron_max_execution_time: 1, cron_sleep: 1 });
  const dir = tempDir('itop-cron-crontab-');
  const log = join(dir, 'cron.log');
  let line = substitute(command, '/usr/local/bin/itop-cron', BIN);
  line = substitute(line, '/etc/itop/cron.params', params);
  line = substitute(line, '/var/log/itop-cron/cron.log', log);
  for (let i = 0; i < 2; i += 1) {
    const r = await shell(line, dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout + r.stderr, '', 'everything goes to the log');
  }
  const text = readFileSync(log, 'utf8');
  assert.equal(text.match(/^Starting: \d+ \(.+\)$/gm)?.length, 2, text);
  assert.equal(text.match(/^Exiting: \d+ \(.+\)$/gm)?.length, 2, text);
  assert.ok(!text.includes(PWD), 'no password in the log');
});

test('a second pass started while the first runs prints Already running... and exits 0 at once; SIGINT ends the first cleanly', async (t) => {
  const { db, params } = await setup(t, { cron_max_execution_time: 120, cron_sleep: 1 });
  let lockHeld!: () => void;
  const firstHoldsLock = new Promise<void>((resolve) => (lockHeld = resolve));
  let firstChild: ChildProcess | undefined;
  const first = runCli([`--param_file=${params}`, '--verbose=1'], {
    env: cliEnv(db),
    timeoutMs: 60_000,
    onSpawn: (child) => {
      firstChild = child;
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        // Printed by the loop, i.e. after GET_LOCK succeeded.
        if (out.includes('Planned duration = 120 seconds')) lockHeld();
      });
    },
  });
  await firstHoldsLock;
  const second = await runCli([`--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.match(second.stdout, /^Starting: \d+ \(.+\)\nAlready running\.\.\.\nExiting: \d+ \(.+\)\n$/);

  firstChild!.kill('SIGINT');
  const r = await first;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\nExiting: \d+ \(.+\)\n$/);
  const free = await db.query<{ f: number }>('SELECT IS_FREE_LOCK(?) AS f', [lockName('cron', db.name, db.prefix)]);
  assert.equal(Number(free[0]?.f), 1);
});
