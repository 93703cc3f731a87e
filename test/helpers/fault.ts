/**
 * Helpers of the fault-injection, fuzz and security suites: the fault task modules, an in-process run
 * environment on a test database, polling, and a recorder of every output of every scenario so that a
 * suite can assert that no secret ever reached one.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { Config, PhpValue } from '../../src/config/types.js';
import { openDb } from '../../src/db/connect.js';
import type { Db } from '../../src/db/types.js';
import { memorySink } from '../../src/output/stdout.js';
import type { RunEnv } from '../../src/scheduler/runEnv.js';
import { loadTasks } from '../../src/tasks/registry.js';
import type { BackgroundTask } from '../../src/tasks/types.js';
import { createClock } from '../../src/time/clock.js';
import { REPO, runCli, type CliOptions, type CliResult } from './cli.js';
import type { TestDb } from './testDb.js';

/** test/fixtures/fault/<name>: extension modules that misbehave on purpose (plain .mjs: the built CLI loads them). */
export function faultModule(name: string): string {
  return join(REPO, 'test', 'fixtures', 'fault', name);
}

/** Polls `cond` every 100 ms until it is true; fails after `timeoutMs` naming `what`. */
export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Every text a suite produced (stdout, stderr, log files), to be searched for secrets at the end. */
export class OutputRecorder {
  private readonly texts: { label: string; text: string }[] = [];

  /** runCli, keeping both outputs. */
  async run(label: string, args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
    const r = await runCli(args, opts);
    this.add(`${label} stdout`, r.stdout);
    this.add(`${label} stderr`, r.stderr);
    return r;
  }

  add(label: string, text: string): void {
    this.texts.push({ label, text });
  }

  /** A log file, when it exists. */
  addFile(label: string, path: string): void {
    if (existsSync(path)) this.add(label, readFileSync(path, 'utf8'));
  }

  /** How many outputs were recorded. */
  get count(): number {
    return this.texts.length;
  }

  /** Fails when any recorded text contains one of `secrets`. */
  assertNever(...secrets: string[]): void {
    for (const { label, text } of this.texts) {
      for (const s of secrets) assert.ok(!text.includes(s), `a secret leaked into ${label}: ${text.slice(0, 2000)}`);
    }
  }
}

/** A run environment on a test database, in this process, with its output and log lines kept. */
export interface InProcessEnv {
  readonly env: RunEnv;
  readonly db: Db;
  readonly out: ReturnType<typeof memorySink>;
  /** The JSON log lines written so far. */
  readonly logs: string[];
  /** The run's stop signal (SIGTERM in the CLI). */
  readonly stop: AbortController;
  /** Loads the built-in tasks and these extension modules as the CLI does (records their paths). */
  loadTasks(...modules: string[]): Promise<BackgroundTask[]>;
  close(): Promise<void>;
}

/** Builds an InProcessEnv; `settings` are added to `$MySettings`, `params` to the command-line parameters. */
export function inProcessEnv(
  db: TestDb,
  settings: Record<string, PhpValue> = {},
  params: Record<string, string> = {},
): InProcessEnv {
  const base = loadConfig({ raw: {}, env: { ...db.env, ITOP_TIMEZONE: 'Europe/Paris' }, cwd: REPO });
  const config: Config = { ...base, settings: { ...base.settings, ...settings } };
  const pool = openDb(config.db);
  const out = memorySink();
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const stop = new AbortController();
  const env: RunEnv = {
    db: pool,
    config,
    clock: createClock(config.timezone),
    log,
    out,
    verbose: true,
    debug: false,
    userId: 1,
    params,
    signal: stop.signal,
  };
  return {
    env,
    db: pool,
    out,
    logs,
    stop,
    loadTasks: (...modules) => loadTasks({ ...config, extensions: modules }),
    close: () => pool.close(),
  };
}
