/**
 * The log as people read it (issue 13): on a terminal (a real pseudo-terminal through script(1)), text
 * lines with the level in colour, NO_COLOR respected; into a pipe or a file, JSON lines as before.
 * Real runs of the built CLI on a real MariaDB.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { prettyLine } from '../src/output/prettyLog.js';
import { BIN, cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'Log.Terminal-Pwd5';
const ESC = '\u001b[';
const plain = (s: string): string => s.replace(new RegExp(`${ESC.replace('[', '\\[')}[0-9;]*m`, 'g'), '');

test('prettyLine: time, level, message, fields; quoted when needed; an error with its stack; other text unchanged', () => {
  const time = new Date(2026, 11, 2, 9, 5, 7, 42).getTime();
  const line = JSON.stringify({ level: 40, time, pid: 1, hostname: 'h', name: 'itop-cron', task: 'InlineImageGC', n: 3, why: 'two words', obj: { a: 1 }, msg: 'something odd' });
  assert.equal(prettyLine(line, false), '09:05:07.042 WARN  something odd task=InlineImageGC n=3 why="two words" obj={"a":1}\n');
  assert.equal(prettyLine(line, true), `${ESC}90m09:05:07.042${ESC}0m ${ESC}33mWARN ${ESC}0m something odd ${ESC}90mtask=${ESC}0mInlineImageGC ${ESC}90mn=${ESC}0m3 ${ESC}90mwhy=${ESC}0m"two words" ${ESC}90mobj=${ESC}0m{"a":1}\n`);
  const err = JSON.stringify({ level: 50, time, msg: 'failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (x.js:1:1)' } });
  assert.equal(prettyLine(err, false), '09:05:07.042 ERROR failed err=boom\n    Error: boom\n    at f (x.js:1:1)\n');
  assert.equal(prettyLine('not json\n', false), 'not json\n');
});

/** Runs the CLI on a pseudo-terminal (script(1)); resolves with what the terminal showed (stdout and stderr). */
function onTerminal(args: readonly string[], env: Record<string, string | undefined>): Promise<string> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env['PATH'], TERM: 'xterm' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: tempDir('itop-cron-tty-'), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', () => resolve(out.replace(/\r/g, '')));
  });
}

test('on a terminal the log is text, coloured unless NO_COLOR; into a pipe it is JSON', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const env = cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '2', ITOP_CRON_SLEEP: '1' });

  const piped = await runCli([`--param_file=${params}`], { env });
  assert.equal(piped.code, 0, piped.stdout + piped.stderr);
  const json = piped.stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(json.some((l) => l['msg'] === 'cron lock acquired' && l['level'] === 30), piped.stderr);
  assert.ok(!piped.stderr.includes(ESC));

  if (!existsSync('/usr/bin/script') && !existsSync('/bin/script')) return t.skip('script(1) is not installed: no pseudo-terminal');
  const tty = await onTerminal([`--param_file=${params}`], { ...env, ITOP_CRON_LOG_LEVEL: 'debug' });
  assert.match(tty, /^Starting: \d+ /m, 'cron.php\'s stdout is unchanged');
  assert.ok(!tty.includes('{"level"'), tty);
  assert.ok(tty.includes(`${ESC}32mINFO ${ESC}0m cron lock acquired`), tty);
  const text = plain(tty);
  assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}cron lock acquired lock=\S+ connection=\d+ user=admin$/m);
  assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} DEBUG task run task=InlineImageGC planned="[^"]+" start="[^"]+" end="[^"]+" duration=[\d.]+ outcome=success /m);
  assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}cron run: \d+ task run\(s\), 0 failed, [\d.]+s taskRuns=\d+ failures=0 duration=[\d.]+ exit=time-limit$/m);
  assert.ok(!tty.includes(PWD));

  const noColour = await onTerminal([`--param_file=${params}`], { ...env, NO_COLOR: '1' });
  assert.ok(!noColour.includes(ESC), noColour);
  assert.match(noColour, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}cron lock acquired /m);
  assert.ok(!noColour.includes('{"level"'), noColour);

  // A log file that cannot be written falls back to stderr: on a terminal, as text too.
  const fellBack = plain(await onTerminal([`--param_file=${params}`], { ...env, ITOP_CRON_LOG: tempDir('log-terminal-dir-') }));
  assert.match(fellBack, /^\d\d:\d\d:\d\d\.\d{3} ERROR cannot write the log to '[^']+' \(EISDIR\): logging to stderr from now on$/m);
  assert.match(fellBack, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}cron lock acquired /m);
  assert.ok(!fellBack.includes('{"level"'), fellBack);
});
