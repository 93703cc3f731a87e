/**
 * Hostile input (issue 5): parameter files and arguments from a seeded random corpus (random bytes, huge
 * values, `=`, `#`, quotes, CRLF, NUL, Windows line endings) never crash. In process, thousands of inputs go
 * through parseParamFile, resolveRunOptions, checkArguments and loadConfig: they return, or throw one of the
 * runner's own errors (a one-line message and an exit code). A few dozen go through the built CLI: exit
 * 0/254/255, and never a stack trace on stdout or stderr.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveRunOptions } from '../src/config/argv.js';
import { loadConfig } from '../src/config/load.js';
import { parseParamFile } from '../src/config/paramFile.js';
import { checkArguments } from '../src/cli/cronCommand.js';
import { CronError } from '../src/errors.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

/** mulberry32: a small seeded PRNG, so that a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ['auth_user', 'auth_pwd', 'verbose', 'debug', 'status_only', 'param_file', 'config', 'itop_root', 'log_level',
  'task_grace_seconds', 'mysql_bindir', 'cron_sleep', 'db_host', 'timezone', '__proto__', 'constructor', 'toString', ''];
const CLI_KEYS = ['auth_user', 'auth_pwd', 'verbose', 'debug', 'status_only', 'config', 'itop_root', 'log_level', 'task_grace_seconds', 'mysql_bindir'];
const NASTY = ['=', '#', "'", '"', '\r\n', '\r', '\n', '\0', ' ', '\t', '\v', '\f', '\\', '%env(HOME)%', '${x}', '$', '`', ';',
  "' OR '1'='1", '\u00e9', '\u{1F600}', '\uFEFF', '\u2028', '--', '-', '..', '/', 'C:\\x', '\\\\server\\share', '0', '1', 'false'];

/** Random pieces: hostile fragments, printable ASCII, and sometimes raw bytes or a huge run. */
function generator(seed: number): { text: (max: number) => string; int: (n: number) => number; pick: <T>(xs: readonly T[]) => T; chance: (p: number) => boolean } {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const chance = (p: number): boolean => rnd() < p;
  const text = (max: number): string => {
    if (chance(0.005)) return 'x'.repeat(int(200_000)); // huge
    if (chance(0.1)) return Buffer.from(Array.from({ length: int(max) }, () => int(256))).toString('latin1'); // random bytes
    let s = '';
    const n = int(max);
    for (let i = 0; i < n; i++) s += chance(0.3) ? pick(NASTY) : String.fromCharCode(32 + int(95));
    return s;
  };
  return { text, int, pick, chance };
}

/** A parameter file: key=value lines mixed with junk, LF or CRLF endings, sometimes raw bytes. */
function paramFileText(g: ReturnType<typeof generator>): string {
  const lines: string[] = [];
  const n = 1 + g.int(g.chance(0.5) ? 30 : 4);
  for (let i = 0; i < n; i++) {
    if (g.chance(0.6)) lines.push(`${g.chance(0.7) ? g.pick(KEYS) : g.text(8)}${g.pick(['=', ' = ', '==', '\t='])}${g.text(30)}`);
    else lines.push(g.text(40));
  }
  return lines.join(g.chance(0.5) ? '\r\n' : '\n');
}

/** An argv: --key=value for known and unknown keys, bare flags, positionals, odd prefixes. */
function argvOf(g: ReturnType<typeof generator>, paramFile: string | undefined, forSpawn: boolean): string[] {
  const argv: string[] = [];
  const n = g.int(7);
  for (let i = 0; i < n; i++) {
    // The CLI mostly gets its own argument names, so that the corpus gets past the argument check.
    const key = g.chance(forSpawn ? 0.95 : 0.8) ? g.pick(forSpawn ? CLI_KEYS : KEYS.filter((k) => k !== 'param_file')) : g.text(10);
    const value = g.text(forSpawn ? 40 : 60);
    argv.push(forSpawn && g.chance(0.95) ? `--${key}=${value}` : g.pick([`--${key}=${value}`, `--${key}`, `-${key}`, value, `--${key}=`]));
  }
  if (paramFile !== undefined) argv.push(`--param_file=${g.chance(0.8) ? paramFile : `${paramFile},${g.text(10)}`}`);
  // A NUL cannot be passed in argv (execve): it is kept for the in-process corpus only.
  return forSpawn ? argv.map((a) => a.replace(/\0/g, '').slice(0, 20_000)) : argv;
}

/** What a run of the parsers may throw: only the runner's own, one-line errors. */
function assertExpected(e: unknown, input: unknown): void {
  assert.ok(e instanceof CronError, `unexpected ${String(e)} for ${JSON.stringify(input).slice(0, 500)}`);
  assert.ok([254, 255].includes(e.exitCode));
  assert.ok(!e.message.includes('\n    at '), 'no stack trace in a message');
}

const SEED = 20_261_124;

test('parseParamFile: 5000 random files never throw; keys have no blanks, values no newline', (t) => {
  const g = generator(SEED);
  let pairs = 0;
  for (let i = 0; i < 5000; i++) {
    const text = paramFileText(g);
    const params = parseParamFile(text);
    for (const [k, v] of params) {
      if (/[ \t\n\v\f\r]/.test(k) || v.includes('\n')) assert.fail(`bad pair ${JSON.stringify([k, v])} from ${JSON.stringify(text).slice(0, 300)}`);
      pairs++;
    }
  }
  assert.ok(pairs > 5000, 'the corpus reaches the key=value path');
  t.diagnostic(`5000 files, ${pairs} pairs parsed`);
});

test('resolveRunOptions + checkArguments + loadConfig: 3000 random argv/file pairs end normally or with a CronError', (t) => {
  const g = generator(SEED + 1);
  const dir = tempDir('itop-cron-fuzz-');
  const outcomes = { ok: 0, refused: 0 };
  for (let i = 0; i < 3000; i++) {
    const file = join(dir, `p${i % 50}.params`);
    writeFileSync(file, g.chance(0.1) ? Buffer.from(g.text(500), 'latin1') : paramFileText(g));
    const argv = argvOf(g, g.chance(0.8) ? file : undefined, false);
    try {
      const options = resolveRunOptions(argv, dir);
      if (g.chance(0.5)) checkArguments(argv);
      loadConfig({ raw: { ...options.raw }, env: { ITOP_DB_NAME: 'fuzz' }, cwd: dir });
      outcomes.ok++;
    } catch (e) {
      assertExpected(e, argv);
      outcomes.refused++;
    }
  }
  assert.ok(outcomes.ok > 100 && outcomes.refused > 100, JSON.stringify(outcomes));
  t.diagnostic(`3000 inputs: ${outcomes.ok} accepted, ${outcomes.refused} refused with a CronError`);
});

test('the built CLI on 24 random inputs: exit 0, 254 or 255, one-line errors, never a stack trace', async (t) => {
  const db = await createTestDb(t);
  const g = generator(SEED + 2);
  const dir = tempDir('itop-cron-fuzz-cli-');
  const cases = Array.from({ length: 24 }, (_, i) => {
    const file = join(dir, `c${i}.params`);
    writeFileSync(file, paramFileText(g).replace(/^(log_file|cron_max_execution_time)\b/gm, 'x'));
    const argv = argvOf(g, g.chance(0.85) ? file : undefined, true);
    // Half of them carry (wrong) credentials, to get as far as the login.
    return g.chance(0.5) ? [`--auth_user=${g.text(12).replace(/\0/g, '')}`, `--auth_pwd=${g.text(12).replace(/\0/g, '')}`, ...argv] : argv;
  });
  const codes = new Map<string, number>();
  for (let i = 0; i < cases.length; i += 4) {
    const batch = cases.slice(i, i + 4);
    const results = await Promise.all(
      batch.map((argv) => runCli(argv, { env: cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '1', ITOP_CRON_SLEEP: '1' }), timeoutMs: 30_000 })),
    );
    results.forEach((r, j) => {
      const shown = `${JSON.stringify(batch[j]).slice(0, 400)}\n${r.stdout.slice(0, 500)}\n${r.stderr.slice(0, 500)}`;
      assert.ok(r.code !== null && [0, 254, 255].includes(r.code), `exit ${r.code} ${r.signal}: ${shown}`);
      for (const out of [r.stdout, r.stderr]) {
        assert.doesNotMatch(out, /\n\s+at .+[:(]\d+:\d+\)?\n|node:internal|\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/, shown);
      }
      const first = r.stdout.split('\n')[0] ?? '';
      codes.set(first.replace(/'.*$|\d.*$/s, '').slice(0, 40), (codes.get(first.replace(/'.*$|\d.*$/s, '').slice(0, 40)) ?? 0) + 1);
    });
  }
  t.diagnostic(`24 CLI runs; first lines: ${JSON.stringify(Object.fromEntries(codes))}`);
});
