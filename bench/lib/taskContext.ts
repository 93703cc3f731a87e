/**
 * A task run in-process, as the scheduler would run it (its own Db pool on the cron SQL account, the
 * configuration loaded from the same ITOP_* variables as the CLI, an info-level log to /dev/null), for
 * the figures that time one task's work rather than a whole cron process.
 */
import { loadConfig } from '../../src/config/load.js';
import { openDb } from '../../src/db/connect.js';
import { createLogger } from '../../src/output/logger.js';
import type { TaskContext } from '../../src/tasks/types.js';
import { createClock } from '../../src/time/clock.js';
import { cronEnv } from './cron.js';
import type { BenchDb } from './server.js';

export interface BenchTaskContext {
  readonly ctx: TaskContext;
  close(): Promise<void>;
}

/** A context whose deadline is `seconds` from now; `extraEnv` adds settings (ITOP_* variables). */
export function benchTaskContext(db: BenchDb, seconds = 3600, extraEnv: Record<string, string> = {}): BenchTaskContext {
  const config = loadConfig({ raw: {}, env: cronEnv(db, extraEnv), cwd: process.cwd() });
  const handle = openDb(config.db);
  const log = createLogger({ destination: '/dev/null', level: 'info' });
  const ctx: TaskContext = {
    db: handle,
    config,
    clock: createClock(config.timezone),
    deadline: Date.now() + seconds * 1000,
    signal: new AbortController().signal,
    log,
    print: () => undefined,
    debug: false,
    userId: 1,
    params: {},
  };
  return { ctx, close: () => handle.close() };
}
