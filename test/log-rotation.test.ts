/**
 * LogFileRotationProcess: its schedule, the rotation of iTop's log files by mtime,
 * iTop's rotation lock, the purge, and the invalid-builder error.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import { openDb } from '../src/db/connect.js';
import { lockName, NamedLock } from '../src/db/lock.js';
import { silentLogger } from '../src/output/logger.js';
import { logFileRotationProcess, rotatedName } from '../src/tasks/LogFileRotationProcess.js';
import type { TaskContext } from '../src/tasks/types.js';
import { createClock } from '../src/time/clock.js';
import { makeItopRoot } from './helpers/cli.js';
import { createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

/** Tuesday 2026-11-24 00:17 in Paris. */
const NOW = Date.parse('2026-11-23T23:17:00Z');
const DAY = 86_400_000;

function ctxFor(t: TestContext, config: Config, deadline = Date.now() + 60_000): TaskContext {
  const db = openDb(config.db);
  t.after(() => db.close());
  return {
    db, config, clock: createClock(config.timezone, () => NOW), deadline, signal: new AbortController().signal,
    log: silentLogger(), print: () => undefined, debug: false, userId: 1, params: {},
  };
}

async function rootWith(t: TestContext, settings: Record<string, string | number | boolean> = {}): Promise<{ root: string; config: Config }> {
  const db = await createTestDb(t);
  const root = makeItopRoot(db, settings);
  return { root, config: loadConfig({ itopRoot: root, raw: {}, env: {}, cwd: root }) };
}

/** A file in `<root>/log` last modified at `ms`. */
function logFile(root: string, name: string, ms: number): void {
  const path = join(root, 'log', name);
  writeFileSync(path, `${name}\n`);
  utimesSync(path, ms / 1000, ms / 1000);
}

const logs = (root: string): string[] => readdirSync(join(root, 'log')).sort();

test('the schedule follows log_filename_builder_impl; a non-rotating builder parks the task', async (t) => {
  const at = async (builder?: string): Promise<string | undefined> => {
    const { config } = await rootWith(t, builder === undefined ? {} : { log_filename_builder_impl: builder });
    return logFileRotationProcess.nextOccurrence?.(config, NOW);
  };
  assert.equal(await at(), '2026-12-01 00:00:00'); // verified on iTop
  assert.equal(await at('DailyRotatingLogFileNameBuilder'), '2026-11-25 00:00:00');
  assert.equal(await at('WeeklyRotatingLogFileNameBuilder'), '2026-11-30 00:00:00');
  assert.equal(await at('DefaultLogFileNameBuilder'), '3000-01-01 00:00:00');
  assert.equal(await at('NoSuchBuilder'), '3000-01-01 00:00:00');
});

test('monthly rotation renames the files of an earlier month only, and returns nothing', async (t) => {
  const { root, config } = await rootWith(t);
  logFile(root, 'setup.log', Date.parse('2026-10-15T10:00:00Z'));
  logFile(root, 'error.log', NOW - 3600_000);
  logFile(root, 'itop-fence.log', Date.parse('2025-12-30T12:00:00Z')); // ISO year 2026: iTop's monthly quirk
  logFile(root, 'other.log', Date.parse('2020-01-01T00:00:00Z')); // not one of iTop's rotated files
  assert.equal(await logFileRotationProcess.process(ctxFor(t, config)), undefined);
  assert.deepEqual(logs(root), ['error.log', 'itop-fence.2026-month12.log', 'other.log', 'setup.2026-month10.log']);
});

test('daily and weekly suffixes; an existing rotated file is not overwritten', async (t) => {
  const daily = await rootWith(t, { log_filename_builder_impl: 'DailyRotatingLogFileNameBuilder' });
  logFile(daily.root, 'tools.log', NOW - DAY);
  logFile(daily.root, 'error.log', Date.parse('2026-11-20T08:00:00Z'));
  writeFileSync(join(daily.root, 'log', 'error.2026-11-20.log'), 'older\n');
  await logFileRotationProcess.process(ctxFor(t, daily.config));
  assert.deepEqual(logs(daily.root), ['error.2026-11-20.log', 'error.log', 'tools.2026-11-23.log']);

  const weekly = await rootWith(t, { log_filename_builder_impl: 'WeeklyRotatingLogFileNameBuilder' });
  logFile(weekly.root, 'setup.log', Date.parse('2024-10-23T12:00:00Z'));
  await logFileRotationProcess.process(ctxFor(t, weekly.config));
  assert.deepEqual(logs(weekly.root), ['setup.2024-week43.log']);
  assert.equal(rotatedName('itop-fence.log', '2024-week43'), 'itop-fence.2024-week43.log');
});

test('the rotation waits for iTop\'s log_rotation lock and leaves the file when it stays busy', async (t) => {
  const { root, config } = await rootWith(t);
  logFile(root, 'setup.log', Date.parse('2026-10-15T10:00:00Z'));
  // iTop's path is APPROOT . '/log/' . name with APPROOT ending in '/'.
  const name = lockName(`log_rotation_${root}//log/setup.log`, config.db.name, config.db.prefix);
  const holder = await NamedLock.open(config.db, name);
  t.after(() => holder.close());
  assert.equal(await holder.acquire(0), true);
  await logFileRotationProcess.process(ctxFor(t, config, Date.now() + 1000));
  assert.deepEqual(logs(root), ['setup.log']);
  await holder.close();
  await logFileRotationProcess.process(ctxFor(t, config));
  assert.deepEqual(logs(root), ['setup.2026-month10.log']);
});

test('log_purge deletes log/sql/xml files older than max_keep_days whole days', async (t) => {
  const { root, config } = await rootWith(t, { 'log_purge.enabled': true, 'log_purge.max_keep_days': 30 });
  logFile(root, 'old.log', NOW - 31 * DAY - 1000);
  logFile(root, 'edge.sql', NOW - 30 * DAY - 1000); // 30 whole days: kept
  logFile(root, 'old.xml', NOW - 100 * DAY);
  logFile(root, 'old.txt', NOW - 400 * DAY);
  logFile(root, 'recent.log', NOW - DAY);
  await logFileRotationProcess.process(ctxFor(t, config));
  assert.deepEqual(logs(root), ['edge.sql', 'old.txt', 'recent.log']);

  const off = await rootWith(t, { 'log_purge.max_keep_days': 1 });
  logFile(off.root, 'old.log', NOW - 400 * DAY);
  await logFileRotationProcess.process(ctxFor(t, off.config));
  assert.deepEqual(logs(off.root), ['old.log']);
});

test('an invalid builder throws iTop\'s message; no iTop root means nothing to do', async (t) => {
  const { config } = await rootWith(t, { log_filename_builder_impl: 'Foo' });
  await assert.rejects(logFileRotationProcess.process(ctxFor(t, config)), {
    message: 'LogFileRotationProcess : The configured filename builder is invalid (log_filename_builder_impl="Foo")',
  });
  const db = await createTestDb(t);
  const cwd = tempDir('itop-cron-cwd-');
  mkdirSync(join(cwd, 'log'));
  logFile(cwd, 'setup.log', Date.parse('2026-10-15T10:00:00Z'));
  const dbOnly = loadConfig({ raw: {}, env: { ...db.env }, cwd });
  assert.equal(await logFileRotationProcess.process(ctxFor(t, dbOnly)), undefined);
  assert.ok(existsSync(join(cwd, 'log', 'setup.log')));
});
