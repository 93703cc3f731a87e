/**
 * What the ExecAsyncTask and mail queue tests share: a Config and a TaskContext over a real test database
 * (the production `openDb` pool), a logger whose lines can be read back, and the loading of iTop's real
 * queued rows (mysqldump INSERT lines) under a table prefix.
 */
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import type { Config, DbSettings, PhpArray } from '../../src/config/types.js';
import { openDb } from '../../src/db/connect.js';
import type { Db } from '../../src/db/types.js';
import type { TaskContext } from '../../src/tasks/types.js';
import type { Clock } from '../../src/time/clock.js';
import type { TestDb } from './testDb.js';

/** Database settings for a test that opens no database (the PHP bridge's fixture root has none). */
export const NO_DB: DbSettings = {
  host: '127.0.0.1:1', user: 'nobody', password: '', name: 'none', prefix: '',
  tlsEnabled: false, tlsCa: undefined, socketPath: undefined,
};

/** A configuration for these database settings and `$MySettings` (time zone Europe/Paris, as iTop's default). */
export function configWith(db: DbSettings, settings: PhpArray = {}, appRoot?: string): Config {
  return {
    appRoot,
    configFile: undefined,
    db,
    timezone: 'Europe/Paris',
    cron: { maxExecutionTime: 600, taskMaxExecutionTime: 0, sleep: 2 },
    accessMode: 3,
    settings,
    moduleSettings: {},
    extensions: [],
    ownsRegistry: false,
    log: { destination: 'stderr', level: 'silent' },
  };
}

/** A configuration for the test database `db` (see configWith). */
export function configFor(db: TestDb, settings: PhpArray = {}, appRoot?: string): Config {
  const { host, port, user, password } = db.server;
  const settingsOfDb: DbSettings = {
    host: `${host}:${port}`, user, password, name: db.name, prefix: db.prefix,
    tlsEnabled: false, tlsCa: undefined, socketPath: undefined,
  };
  return configWith(settingsOfDb, settings, appRoot);
}

/** The production pool on the test database, closed after the test. */
export function openTaskDb(t: TestContext, config: Config): Db {
  const db = openDb(config.db);
  t.after(() => db.close());
  return db;
}

/** A pino logger writing JSON lines into memory. */
export function memoryLog(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void chunks.push(s) });
  return { log, lines: () => chunks.map((c) => JSON.parse(c) as Record<string, unknown>) };
}

export interface CtxOptions {
  db: Db;
  config: Config;
  clock: Clock;
  log?: Logger;
  deadline?: number;
  signal?: AbortSignal;
}

/** The context runTask would build, with a deadline a minute after the clock's now by default. */
export function taskContext(o: CtxOptions): TaskContext {
  return {
    db: o.db,
    config: o.config,
    clock: o.clock,
    deadline: o.deadline ?? o.clock.nowMs() + 60_000,
    signal: o.signal ?? new AbortController().signal,
    log: o.log ?? pino({ level: 'silent' }),
    print: () => undefined,
    debug: false,
    userId: 1,
    params: {},
  };
}

/**
 * Runs the `INSERT INTO` lines of a mysqldump file (one row per line, as the reference dumps are written)
 * against `db`, renaming the tables with the test database's prefix.
 */
export async function loadDumpRows(db: TestDb, file: string): Promise<number> {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('INSERT INTO `'));
  for (const line of lines) {
    await db.execute(line.replace(/^INSERT INTO `([^`]+)`/, (_m, name: string) => `INSERT INTO ${db.table(name)}`));
  }
  return lines.length;
}
