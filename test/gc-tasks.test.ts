/**
 * The small collectors: BulkExportResultGC, EventNotificationNewsroomGC,
 * TemporaryObjectGC and SessionGC against a real database and real files; and the registry's order.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import { openDb } from '../src/db/connect.js';
import { bulkExportResultGC } from '../src/tasks/BulkExportResultGC.js';
import { daysBefore, eventNotificationNewsroomGC } from '../src/tasks/EventNotificationNewsroomGC.js';
import { builtInTasks } from '../src/tasks/registry.js';
import { sessionGC } from '../src/tasks/SessionGC.js';
import { temporaryObjectGC } from '../src/tasks/TemporaryObjectGC.js';
import type { TaskContext } from '../src/tasks/types.js';
import { createClock } from '../src/time/clock.js';
import { makeItopRoot } from './helpers/cli.js';
import { createTestDb, type TestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const DAY = 86_400_000;

function ctxFor(t: TestContext, config: Config, logged: string[] = []): TaskContext {
  const db = openDb(config.db);
  t.after(() => db.close());
  const sink = new Writable({ write: (c: Buffer, _e, cb) => { logged.push(c.toString()); cb(); } });
  return {
    db, config, clock: createClock(config.timezone), deadline: Date.now() + 60_000, signal: new AbortController().signal,
    log: pino({ level: 'debug' }, sink), print: () => undefined, debug: false, userId: 1, params: {},
  };
}

async function setup(t: TestContext, settings: Record<string, string | number | boolean> = {}): Promise<{ db: TestDb; root: string; config: Config }> {
  const db = await createTestDb(t);
  const root = makeItopRoot(db, settings);
  return { db, root, config: loadConfig({ itopRoot: root, raw: {}, env: {}, cwd: root }) };
}

const local = (ms: number): string => createClock('Europe/Paris').format(ms);
const ids = async (db: TestDb, table: string): Promise<number[]> =>
  (await db.query<{ id: number }>(`SELECT id FROM ${db.table(table)} ORDER BY id`)).map((r) => r.id);

test('built-in tasks are registered in iTop\'s discovery order', () => {
  assert.deepEqual(builtInTasks().map((task) => task.className), [
    'CheckStopWatchThresholds', 'LogFileRotationProcess', 'ExecAsyncTask', 'BulkExportResultGC', 'InlineImageGC', 'BackupExec',
    'Combodo\\iTop\\Service\\Notification\\Event\\EventNotificationNewsroomGC',
    'Combodo\\iTop\\Service\\TemporaryObjects\\TemporaryObjectGC', 'Combodo\\iTop\\SessionTracker\\SessionGC',
  ]);
});

test('BulkExportResultGC deletes results older than 24 h and their files under data/', async (t) => {
  const { db, root, config } = await setup(t);
  assert.equal(bulkExportResultGC.periodicity?.(config), 86400);
  mkdirSync(join(root, 'data', 'bulk_export'));
  const inside = join(root, 'data', 'bulk_export', 'old.csv');
  const outside = join(tempDir('itop-export-'), 'elsewhere.csv');
  for (const f of [inside, outside]) writeFileSync(f, 'x');
  const now = Date.now();
  for (const [created, file] of [[now - 2 * DAY, inside], [now - DAY - 60_000, outside], [now - 3600_000, ''], [now - 3 * DAY, '/nonexistent/gone.csv']] as const) {
    await db.execute(`INSERT INTO ${db.table('priv_bulk_export_result')} (created, temp_file_path, search, status_info) VALUES (?, ?, '', '')`, [local(created), file]);
  }
  assert.equal(await bulkExportResultGC.process(ctxFor(t, config)), 'Cleaned 3 old export results(s).');
  assert.deepEqual(await ids(db, 'priv_bulk_export_result'), [3]);
  assert.equal(existsSync(inside), false);
  assert.equal(existsSync(outside), true, 'a path outside <iTop root>/data is never deleted');
  assert.equal(await bulkExportResultGC.process(ctxFor(t, config)), 'Cleaned 0 old export results(s).');
});

/** A newsroom notification: its rows in priv_event, priv_event_notification and priv_event_newsroom. */
async function newsroom(db: TestDb, read: 'yes' | 'no', readDate: string | null): Promise<number> {
  const event = await db.execute(`INSERT INTO ${db.table('priv_event')} (message, date, realclass) VALUES ('m', NOW(), 'EventNotificationNewsroom')`);
  await db.execute(`INSERT INTO ${db.table('priv_event_notification')} (id, realclass) VALUES (?, 'EventNotificationNewsroom')`, [event.insertId]);
  await db.execute(`INSERT INTO ${db.table('priv_event_newsroom')} (id, title, \`read\`, read_date) VALUES (?, 't', ?, ?)`, [event.insertId, read, readDate]);
  return event.insertId;
}

test('EventNotificationNewsroomGC deletes read notifications past the retention from the three tables', async (t) => {
  assert.equal(daysBefore(Date.parse('2026-11-23T23:17:00Z'), 182, 'Europe/Paris'), '2026-05-26 00:17:00');
  const { db, config } = await setup(t, { 'notifications.itop.read_notification_retention': 150 });
  const now = Date.now();
  const gone1 = await newsroom(db, 'yes', local(now - 200 * DAY));
  const kept1 = await newsroom(db, 'yes', local(now - 100 * DAY));
  const kept2 = await newsroom(db, 'no', local(now - 300 * DAY));
  const gone2 = await newsroom(db, 'yes', local(now - 151 * DAY));
  const kept3 = await newsroom(db, 'yes', null);
  assert.equal(await eventNotificationNewsroomGC.process(ctxFor(t, config)), true);
  for (const table of ['priv_event', 'priv_event_notification', 'priv_event_newsroom']) {
    assert.deepEqual(await ids(db, table), [kept1, kept2, kept3], table);
  }
  assert.ok(gone1 < gone2);
});

test('EventNotificationNewsroomGC logs an error and returns false, deleting nothing of a failed batch', async (t) => {
  const { db, config } = await setup(t);
  const id = await newsroom(db, 'yes', '2020-01-01 00:00:00');
  await db.execute(`DROP TABLE ${db.table('priv_event')}`);
  const logged: string[] = [];
  assert.equal(await eventNotificationNewsroomGC.process(ctxFor(t, config, logged)), false);
  assert.deepEqual(await ids(db, 'priv_event_newsroom'), [id], 'the transaction was rolled back');
  assert.ok(logged.some((l) => l.includes('EventNotificationNewsroomGC failed')));
});

test('TemporaryObjectGC: expired descriptors go; only plain-row objects of a create are deleted', async (t) => {
  const { db, config } = await setup(t, { 'temporary_object.garbage_interval': 90 });
  assert.equal(temporaryObjectGC.periodicity?.(config), 90);
  const image = async (): Promise<number> => (await db.execute(`INSERT INTO ${db.table('inline_image')} (item_class) VALUES ('')`)).insertId;
  const [img1, img2, img3] = [await image(), await image(), await image()];
  const att = (await db.execute(`INSERT INTO ${db.table('attachment')} (item_class) VALUES ('')`)).insertId;
  const ticket = (await db.execute(`INSERT INTO ${db.table('ticket')} (ref, title) VALUES ('R-1', 't')`)).insertId;
  const now = Date.now();
  const descriptor = async (cls: string, item: number, operation: string, expiresIn: number): Promise<number> =>
    (await db.execute(
      `INSERT INTO ${db.table('priv_temporary_object_descriptor')} (expiration_date, temp_id, item_class, item_id, operation) VALUES (?, 'tmp', ?, ?, ?)`,
      [local(now + expiresIn), cls, item, operation],
    )).insertId;
  await descriptor('InlineImage', img1, 'create', -60_000);
  await descriptor('attachment', att, 'create', -60_000);
  await descriptor('UserRequest', ticket, 'create', -60_000);
  await descriptor('InlineImage', img2, 'delete', -60_000);
  const future = await descriptor('InlineImage', img3, 'create', 3600_000);
  const logged: string[] = [];
  assert.equal(await temporaryObjectGC.process(ctxFor(t, config, logged)), undefined);
  assert.deepEqual(await ids(db, 'priv_temporary_object_descriptor'), [future]);
  assert.deepEqual(await ids(db, 'inline_image'), [img2, img3]);
  assert.deepEqual(await ids(db, 'attachment'), []);
  assert.deepEqual(await ids(db, 'ticket'), [ticket], 'a UserRequest needs iTop\'s delete semantics: left in place');
  assert.ok(logged.some((l) => l.includes(`Temporary Object [InlineImage:${img1}] removed (operation: create)`)));
  assert.ok(logged.some((l) => l.includes('"itemClass":"UserRequest"') && l.includes('NOT deleted')));
});

test('SessionGC deletes stale session files, creates the folder, counts them', async (t) => {
  const { root, config } = await setup(t, { 'itop_cron.session_gc_maxlifetime': 600 });
  const dir = join(root, 'data', 'sessions');
  assert.equal(existsSync(dir), false);
  assert.equal(await sessionGC.process(ctxFor(t, config)), 'processed 0 tasks');
  assert.equal(existsSync(dir), true);
  const now = Date.now() / 1000;
  for (const [name, age] of [['session_old1', 700], ['session_old2', 5000], ['session_new', 100], ['other_old', 5000]] as const) {
    writeFileSync(join(dir, name), 'data');
    utimesSync(join(dir, name), now - age, now - age);
  }
  assert.equal(await sessionGC.process(ctxFor(t, config)), 'processed 2 tasks');
  assert.deepEqual(readdirSync(dir).sort(), ['other_old', 'session_new']);

  const byDefault = await setup(t);
  const dir2 = join(byDefault.root, 'data', 'sessions');
  mkdirSync(dir2);
  writeFileSync(join(dir2, 'session_x'), '');
  utimesSync(join(dir2, 'session_x'), now - 1000, now - 1000); // under PHP's default 1440 s
  assert.equal(await sessionGC.process(ctxFor(t, byDefault.config)), 'processed 0 tasks');
  const dbOnly = loadConfig({ raw: {}, env: { ...byDefault.db.env }, cwd: tmpdir() });
  assert.equal(await sessionGC.process(ctxFor(t, dbOnly)), 'processed 0 tasks');
});
