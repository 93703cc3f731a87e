/**
 * Library-level set-up for the operating tests (status, control, history, metrics, alerts): a real Config
 * and Db on a test database, a pinned or real clock, a logger that keeps its lines, and a RunEnv.
 */
import type { TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { Config, PhpArray } from '../../src/config/types.js';
import { openDb } from '../../src/db/connect.js';
import type { Db } from '../../src/db/types.js';
import { memorySink } from '../../src/output/stdout.js';
import type { RunObserver } from '../../src/scheduler/observer.js';
import type { RunEnv } from '../../src/scheduler/runEnv.js';
import type { BackgroundTask } from '../../src/tasks/types.js';
import { createClock, type Clock } from '../../src/time/clock.js';
import type { TestDb } from './testDb.js';
import { tempDir } from './tempDir.js';

/** A logger whose JSON lines are kept in `lines` (parsed). */
export function recordingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

/** The configuration of the test database, with extra `$MySettings` entries. */
export function testConfig(db: TestDb, settings: PhpArray = {}): Config {
  const base = loadConfig({ raw: {}, env: { ...db.env, ITOP_TIMEZONE: 'Europe/Paris' }, cwd: tempDir('ops-cwd-') });
  return { ...base, settings: { ...base.settings, ...settings } };
}

/** A pool on the test database, closed after the test. */
export function testPool(t: TestContext, config: Config): Db {
  const pool = openDb(config.db);
  t.after(() => pool.close().catch(() => undefined));
  return pool;
}

/** A clock pinned at the iTop-local time `local` (Europe/Paris). */
export function pinnedClock(local: string): Clock {
  const ms = createClock('Europe/Paris').parse(local);
  return createClock('Europe/Paris', () => ms);
}

export interface OpsEnv {
  env: RunEnv;
  out: ReturnType<typeof memorySink>;
  lines: Array<Record<string, unknown>>;
}

/** A RunEnv for runTask / runTaskNow on the test database. */
export function opsEnv(config: Config, pool: Db, opts: { clock?: Clock; observer?: RunObserver } = {}): OpsEnv {
  const out = memorySink();
  const { log, lines } = recordingLogger();
  const env: RunEnv = {
    db: pool,
    config,
    clock: opts.clock ?? createClock('Europe/Paris'),
    log,
    out,
    verbose: false,
    debug: false,
    userId: 1,
    params: {},
    signal: new AbortController().signal,
    observer: opts.observer,
  };
  return { env, out, lines };
}

/** A periodic task for tests: fails while `state.fail` is true, else returns `state.message`. */
export function controllableTask(className: string, state: { fail: boolean; message?: string }): BackgroundTask {
  return {
    className,
    periodicity: () => 60,
    async process() {
      if (state.fail) throw new Error(`${className} broke`);
      return state.message ?? 'done';
    },
  };
}
