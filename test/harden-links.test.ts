/**
 * Deletions never go through a symbolic link (issue 16 item 12): a `data/backups/auto`, a `log` or a
 * `data/sessions` that points elsewhere must not let the retention, the log purge or SessionGC delete
 * files of another tree (as root, anything). The tasks run with a real database and real files.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import { openDb } from '../src/db/connect.js';
import { backupExec } from '../src/tasks/BackupExec.js';
import { bulkExportResultGC } from '../src/tasks/BulkExportResultGC.js';
import { logFileRotationProcess } from '../src/tasks/LogFileRotationProcess.js';
import { sessionGC } from '../src/tasks/SessionGC.js';
import type { TaskContext } from '../src/tasks/types.js';
import { createClock } from '../src/time/clock.js';
import { makeItopRoot } from './helpers/cli.js';
import { createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const OLD = Date.now() / 1000 - 400 * 86_400;

function ctxFor(t: TestContext, config: Config): { ctx: TaskContext; logged: string[] } {
  const db = openDb(config.db);
  t.after(() => db.close());
  const logged: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => { logged.push(chunk.toString()); cb(); } });
  const ctx: TaskContext = {
    db, config, clock: createClock(config.timezone), deadline: Date.now() + 120_000, signal: new AbortController().signal,
    log: pino({ level: 'debug' }, sink), print: () => undefined, debug: false, userId: 1, params: {},
  };
  return { ctx, logged };
}

async function rootWith(t: TestContext, settings: Record<string, string | number | boolean> = {}, modules = ''): Promise<{ root: string; config: Config }> {
  const db = await createTestDb(t);
  const root = makeItopRoot(db, settings, modules);
  return { root, config: loadConfig({ itopRoot: root, raw: {}, env: {}, cwd: root }) };
}

/** A directory outside the iTop root holding old files that nothing of iTop's may delete. */
function elsewhere(names: readonly string[]): string {
  const dir = tempDir('itop-cron-elsewhere-');
  for (const name of names) {
    if (name.startsWith('.itop-cron-backup-')) mkdirSync(join(dir, name));
    else writeFileSync(join(dir, name), 'not yours');
    utimesSync(join(dir, name), OLD, OLD);
  }
  return dir;
}

const BACKUP_MODULE = "\t'itop-backup' => array('retention_count' => 1, 'file_name_format' => 'new'),";
const UNRELATED = ['a.tar.gz', 'b.zip', 'c.tar.gz', '.itop-cron-backup-other'];

test('backup retention and clean-up do not delete through a linked data/backups/auto, data or backup_dir', async (t) => {
  const { root, config } = await rootWith(t, {}, BACKUP_MODULE);
  const other = elsewhere(UNRELATED);
  mkdirSync(join(root, 'data', 'backups'), { recursive: true });
  symlinkSync(other, join(root, 'data', 'backups', 'auto'));
  const { ctx, logged } = ctxFor(t, config);
  await backupExec.process(ctx);
  assert.deepEqual(readdirSync(other).filter((n) => UNRELATED.includes(n)).sort(), [...UNRELATED].sort(), 'nothing deleted there');
  assert.ok(readdirSync(other).includes('new.tar.gz'), 'the backup itself is still written');
  assert.ok(logged.some((l) => l.includes('is a symbolic link: no old backup is deleted through it')), logged.join(''));

  // a link higher up (data/ itself), and a configured backup_dir inside the root reached through a link
  const higher = await rootWith(t, {}, BACKUP_MODULE);
  const away = tempDir('itop-cron-elsewhere-');
  renameSync(elsewhere(UNRELATED), join(away, 'auto'));
  mkdirSync(join(away, 'backups'));
  renameSync(join(away, 'auto'), join(away, 'backups', 'auto'));
  rmSync(join(higher.root, 'data'), { recursive: true });
  symlinkSync(away, join(higher.root, 'data'));
  await backupExec.process(ctxFor(t, higher.config).ctx);
  assert.deepEqual(readdirSync(join(away, 'backups', 'auto')).filter((n) => UNRELATED.includes(n)).sort(), [...UNRELATED].sort());

  const configured = await rootWith(t, { 'itop_cron.backup_dir': 'data/linked' }, BACKUP_MODULE);
  const target = elsewhere(UNRELATED);
  symlinkSync(target, join(configured.root, 'data', 'linked'));
  await backupExec.process(ctxFor(t, configured.config).ctx);
  assert.deepEqual(readdirSync(target).filter((n) => UNRELATED.includes(n)).sort(), [...UNRELATED].sort());
});

test('a real data/backups/auto still gets its retention (the guard is not a blanket refusal)', async (t) => {
  const { root, config } = await rootWith(t, {}, BACKUP_MODULE);
  const dir = join(root, 'data', 'backups', 'auto');
  mkdirSync(dir, { recursive: true });
  for (const n of ['a.tar.gz', '.itop-cron-backup-killed']) {
    if (n.startsWith('.')) mkdirSync(join(dir, n));
    else writeFileSync(join(dir, n), 'x');
  }
  await backupExec.process(ctxFor(t, config).ctx);
  assert.deepEqual(readdirSync(dir), ['new.tar.gz']);
});

test('log_purge does not delete through a linked <root>/log; SessionGC not through a linked data/sessions', async (t) => {
  const { root, config } = await rootWith(t, { 'log_purge.enabled': true, 'log_purge.max_keep_days': 30 });
  const logs = elsewhere(['unrelated.log', 'dump.sql', 'old.xml']);
  rmSync(join(root, 'log'), { recursive: true });
  symlinkSync(logs, join(root, 'log'));
  const purge = ctxFor(t, config);
  await logFileRotationProcess.process(purge.ctx);
  assert.deepEqual(readdirSync(logs).sort(), ['dump.sql', 'old.xml', 'unrelated.log']);
  assert.ok(purge.logged.some((l) => l.includes('is a symbolic link: no file is deleted through it')), purge.logged.join(''));

  const sessions = elsewhere(['session_old', 'session_older']);
  symlinkSync(sessions, join(root, 'data', 'sessions'));
  const gc = ctxFor(t, config);
  assert.equal(await sessionGC.process(gc.ctx), 'processed 0 tasks');
  assert.deepEqual(readdirSync(sessions).sort(), ['session_old', 'session_older']);
  assert.ok(gc.logged.some((l) => l.includes('is a symbolic link: no session file is deleted through it')));
});

test('BulkExportResultGC does not delete a temporary file through a linked data/', async (t) => {
  const db = await createTestDb(t);
  const root = makeItopRoot(db);
  const config = loadConfig({ itopRoot: root, raw: {}, env: {}, cwd: root });
  const away = tempDir('itop-cron-elsewhere-');
  const other = join(away, 'bulk_export');
  renameSync(elsewhere(['export.csv']), other);
  rmSync(join(root, 'data'), { recursive: true });
  symlinkSync(away, join(root, 'data'));
  const created = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
  await db.execute(`INSERT INTO ${db.table('priv_bulk_export_result')} (created, temp_file_path, search, status_info) VALUES (?, ?, '', '')`, [
    created, join(root, 'data', 'bulk_export', 'export.csv'),
  ]);
  await bulkExportResultGC.process(ctxFor(t, config).ctx);
  assert.deepEqual(readdirSync(other), ['export.csv']);
});
