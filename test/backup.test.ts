/**
 * BackupExec with the real mysqldump: the archive's layout, a restore of the dump into
 * an empty database, the prefix, retention, the lock, and the failures that must leave no partial archive.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { extract, list } from 'tar';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import { openDb } from '../src/db/connect.js';
import { lockName, NamedLock } from '../src/db/lock.js';
import { ProcessFatalError } from '../src/errors.js';
import { backupExec } from '../src/tasks/BackupExec.js';
import { backupName, formatBackupName } from '../src/tasks/backup/fileName.js';
import { mysqldumpCommand } from '../src/tasks/backup/mysqldump.js';
import type { TaskContext } from '../src/tasks/types.js';
import { createClock } from '../src/time/clock.js';
import { makeItopRoot } from './helpers/cli.js';
import { createTestDb, type TestDb } from './helpers/testDb.js';
import { findBinary } from '../src/mariadb/throwaway.js';
import { tempDir } from './helpers/tempDir.js';

/** 2026-11-24 00:17:00 in Paris, the time of the verified name `itopdb-2026-11-24_00_17`. */
const NOW = Date.parse('2026-11-23T23:17:00Z');
const TRICKY_PWD = `Pa'ss"w\\rd #1; x$(id)`;

interface Harness {
  ctx: TaskContext;
  printed: string[];
  logged: string[];
}

function harness(t: TestContext, config: Config, opts: { params?: Record<string, string>; deadline?: number; signal?: AbortSignal } = {}): Harness {
  const db = openDb(config.db);
  t.after(() => db.close());
  const printed: string[] = [];
  const logged: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => { logged.push(chunk.toString()); cb(); } });
  const ctx: TaskContext = {
    db, config, clock: createClock(config.timezone, () => NOW),
    deadline: opts.deadline ?? Date.now() + 120_000, signal: opts.signal ?? new AbortController().signal,
    log: pino({ level: 'debug' }, sink), print: (l) => printed.push(l), debug: false, userId: 1, params: opts.params ?? {},
  };
  return { ctx, printed, logged };
}

/** An iTop root for `db` (config file, data/) with itop-backup settings as PHP source; its loaded Config. */
function itopConfig(db: TestDb, settings: Record<string, string | number | boolean> = {}, backupSettings = ''): { root: string; config: Config } {
  const root = makeItopRoot(db, settings, backupSettings === '' ? '' : `\t'itop-backup' => array(${backupSettings}),`);
  return { root, config: loadConfig({ itopRoot: root, raw: {}, env: {}, cwd: root }) };
}

const backupsOf = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.tar.gz')).sort() : []);

/** Whatever a failed run must not leave: archives, partial archives, work folders. */
function assertNothingLeft(dir: string): void {
  const left = existsSync(dir) ? readdirSync(dir) : [];
  assert.deepEqual(left.filter((n) => n.endsWith('.tar.gz') || n.includes('.part') || n.startsWith('.itop-cron-backup-')), []);
}

/** The defaults file named in the printed command must be gone. */
function assertDefaultsFileRemoved(printed: readonly string[]): void {
  const m = printed.map((l) => /--defaults-extra-file="([^"]+)"/.exec(l)).find((x) => x !== null);
  assert.ok(m?.[1] !== undefined, 'the command line was printed');
  assert.equal(existsSync(m[1]), false, 'the password file was removed');
}

/** A MySQL account with a password full of quoting traps, allowed on `db` only. */
async function trickyUser(t: TestContext, db: TestDb): Promise<string> {
  const user = `bk_${randomBytes(4).toString('hex')}`;
  await db.execute(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, TRICKY_PWD]);
  await db.execute(`GRANT ALL ON \`${db.name}\`.* TO ?@'%'`, [user]);
  t.after(() => db.execute(`DROP USER IF EXISTS ?@'%'`, [user]).catch(() => undefined));
  return user;
}

/** Loads a dump file into `target` with the mariadb/mysql client. */
async function restore(target: TestDb, file: string): Promise<void> {
  const client = findBinary('mariadb', 'mysql');
  assert.ok(client !== undefined, 'a mariadb/mysql client is installed');
  const s = target.server;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(client, ['--no-defaults', '--protocol=TCP', `--host=${s.host}`, `--port=${s.port}`, `--user=${s.user}`, target.name],
      { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, MYSQL_PWD: s.password } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`restore failed: ${err}`))));
    createReadStream(file).pipe(child.stdin);
  });
}

async function tableCounts(db: TestDb): Promise<Map<string, number>> {
  const tables = await db.query<{ n: string }>('SELECT table_name AS n FROM information_schema.tables WHERE table_schema = ? ORDER BY 1', [db.name]);
  const counts = new Map<string, number>();
  for (const { n } of tables) counts.set(n, Number((await db.query<{ c: number }>(`SELECT COUNT(*) AS c FROM \`${n}\``))[0]?.c));
  return counts;
}

const checksum = async (db: TestDb, table: string): Promise<string> =>
  String((await db.query<{ Checksum: string }>(`CHECKSUM TABLE \`${table}\``))[0]?.Checksum);

test('the backup name: placeholders, strftime tokens, the default when empty, no slash', () => {
  const parts = { host: 'db.example', dbName: 'itopdb', prefix: 'pfx_' };
  assert.equal(formatBackupName('__DB__-%Y-%m-%d_%H_%M', parts, NOW, 'Europe/Paris'), 'itopdb-2026-11-24_00_17');
  assert.equal(formatBackupName('__HOST__-__SUBNAME__-%a-%B-%e-%z-%I%p', parts, NOW, 'Europe/Paris'), 'db.example-pfx_-Tue-November-24-+0100-12AM');
  // Tokens iTop cannot convert keep their '%' and the letter goes through date(): %U = Unix time, %C stays.
  assert.equal(formatBackupName('%U|%C|%V', parts, NOW, 'Europe/Paris'), `%${NOW / 1000}|%C|48`);
  assert.equal(backupName('', parts, NOW, 'Europe/Paris'), 'itopdb-2026-11-24_00_17');
  assert.equal(backupName('%D', parts, NOW, 'Europe/Paris'), undefined);
});

test('the mysqldump command: iTop options and spacing, no password anywhere', () => {
  const base = { name: 'itop', user: 'itop', password: TRICKY_PWD, prefix: '', tlsEnabled: false, tlsCa: undefined, socketPath: undefined };
  const common = { bindir: '', defaultsFile: '/tmp/d/my.cnf', resultFile: '/w/itop-dump.sql', tables: [], serverVersion: '10.11.19-MariaDB' };
  const tcp = mysqldumpCommand({ ...common, db: { ...base, host: '127.0.0.1' } });
  assert.equal(
    tcp.display,
    `mysqldump --defaults-extra-file="/tmp/d/my.cnf" --opt --skip-lock-tables --default-character-set=utf8mb4 --add-drop-database --single-transaction --host='127.0.0.1'  --port='3306' --user=xxxxx  --result-file='/w/itop-dump.sql' 'itop' `,
  );
  assert.deepEqual(tcp.args.slice(0, 1), ['--defaults-extra-file=/tmp/d/my.cnf']);
  const socket = mysqldumpCommand({ ...common, db: { ...base, host: 'localhost' } });
  assert.ok(!socket.args.some((a) => a.startsWith('--port')));
  const local = mysqldumpCommand({ ...common, db: { ...base, host: 'p:localhost:3307' } });
  assert.match(local.display, /--host='localhost' {2}--port='3307' --protocol=tcp --user=xxxxx/);
  const tlsMaria = mysqldumpCommand({ ...common, db: { ...base, host: 'h', tlsEnabled: true, tlsCa: '/ca.pem' } });
  assert.match(tlsMaria.display, /--user=xxxxx {2}--ssl --ssl-ca='\/ca\.pem' --result-file/);
  const tlsMysql = mysqldumpCommand({ ...common, serverVersion: '8.0.36', bindir: '/opt/my sql/bin', db: { ...base, host: 'h', tlsEnabled: true } });
  assert.match(tlsMysql.display, /^"\/opt\/my sql\/bin\/mysqldump" .* --user=xxxxx {2}--ssl-mode=REQUIRED --result-file/);
  assert.match(mysqldumpCommand({ ...common, serverVersion: '5.5.10', db: { ...base, host: 'h' } }).display, /--default-character-set=utf8 /);
  for (const cmd of [tcp, socket, local, tlsMaria, tlsMysql]) {
    assert.ok(![...cmd.args, cmd.display].some((a) => a.includes('Pa\'ss')), 'no password on argv or in the display');
  }
});

test('nextOccurrence: the module section, its mon-fri default, all days without a section, disabled', async (t) => {
  const db = await createTestDb(t);
  const sat = Date.parse('2024-10-26T08:00:00Z'); // Saturday 10:00 in Paris
  assert.equal(backupExec.nextOccurrence?.(itopConfig(db).config, sat), '2024-10-26 23:30:00');
  assert.equal(backupExec.nextOccurrence?.(itopConfig(db, {}, "'retention_count' => 3").config, sat), '2024-10-28 23:30:00');
  assert.equal(backupExec.nextOccurrence?.(itopConfig(db, {}, "'week_days' => 'sunday', 'time' => '08:00'").config, sat), '2024-10-27 08:00:00');
  assert.equal(backupExec.nextOccurrence?.(itopConfig(db, {}, "'enabled' => false").config, sat), '3000-01-01 00:00:00');
});

/** Rows that a careless dump would damage: binary blobs, 4-byte UTF-8, NULLs, dates, quotes. */
async function fillWithData(db: TestDb): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await db.execute(`INSERT INTO ${db.table('inline_image')} (expire, item_class, contents_data, contents_filename) VALUES (?, ?, ?, ?)`,
      ['2026-03-29 02:30:00', i === 0 ? null : 'UserRequest', randomBytes(50_000 + i), `héllo 🙂 "${i}'.png`]);
  }
  for (const cls of ['InlineImageGC', 'ExecAsyncTask', 'Combodo\\iTop\\SessionTracker\\SessionGC']) {
    await db.execute(`INSERT INTO ${db.table('priv_backgroundtask')} (class_name, next_run_date, latest_run_duration) VALUES (?, '2026-11-24 00:05:51', '0.123')`, [cls]);
  }
  await db.execute(`INSERT INTO ${db.table('priv_event_newsroom')} (title, \`read\`, read_date) VALUES ('Ticket 🎫 «R-000123»\\n', 'yes', NOW())`);
  await db.execute(`INSERT INTO ${db.table('priv_change')} (date, userinfo) VALUES ('2026-11-24 00:00:00', 'admin')`);
  await db.execute(`INSERT INTO ${db.table('priv_bulk_export_result')} (created, search, status_info) VALUES (NULL, REPEAT('x', 70000), NULL)`);
}

test('a backup with the real mysqldump restores to the same data', async (t) => {
  const db = await createTestDb(t);
  await fillWithData(db);
  const user = await trickyUser(t, db);
  const { root, config } = itopConfig(db, { db_user: user, db_pwd: TRICKY_PWD }, "'retention_count' => 5");
  writeFileSync(join(root, 'data', 'production.delta.xml'), '<itop_design/>\n');
  mkdirSync(join(root, 'data', 'production-modules', 'acme'), { recursive: true });
  writeFileSync(join(root, 'data', 'production-modules', 'acme', 'module.acme.php'), '<?php\n');
  const { ctx, printed, logged } = harness(t, config);

  const message = await backupExec.process(ctx);
  const dir = join(root, 'data', 'backups', 'auto');
  assert.equal(message, `Created the backup: ${dir}/${db.name}-2026-11-24_00_17`);
  assert.equal(printed[0], `Creating backup: '${dir}/${db.name}-2026-11-24_00_17.tar.gz'`);
  assert.ok(printed.includes(`Starting backup of 127.0.0.1/${db.name}(suffix:'')`), printed.join('\n'));
  assert.ok(printed.some((l) => l.startsWith('backup: generate data file with command: mysqldump --defaults-extra-file="') && l.includes('--user=xxxxx')));
  assert.ok(![...printed, ...logged].some((l) => l.includes(TRICKY_PWD)), 'the password is never printed or logged');
  assertDefaultsFileRemoved(printed);
  assert.deepEqual(backupsOf(dir), [`${db.name}-2026-11-24_00_17.tar.gz`]);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no work folder left');

  const archive = join(dir, `${db.name}-2026-11-24_00_17.tar.gz`);
  const entries: string[] = [];
  await list({ file: archive, onReadEntry: (e) => entries.push(e.path) });
  assert.deepEqual(entries.filter((e) => !e.startsWith('production-modules/acme')), ['config-itop.php', 'delta.xml', 'production-modules/', 'itop-dump.sql']);
  assert.ok(entries.includes('production-modules/acme/module.acme.php'));
  const out = tempDir('itop-backup-x-');
  await extract({ file: archive, cwd: out });
  assert.equal(readFileSync(join(out, 'config-itop.php'), 'utf8'), readFileSync(join(root, 'conf', 'production', 'config-itop.php'), 'utf8'));

  const copy = await createTestDb(t, { schema: false });
  await restore(copy, join(out, 'itop-dump.sql'));
  const [before, after] = [await tableCounts(db), await tableCounts(copy)];
  assert.ok(before.size > 40);
  assert.deepEqual(after, before);
  assert.equal(before.get('inline_image'), 3);
  for (const table of ['priv_backgroundtask', 'inline_image', 'priv_event_newsroom', 'priv_change', 'priv_bulk_export_result']) {
    assert.equal(await checksum(copy, table), await checksum(db, table), table);
  }
});

test('a prefixed install dumps only its tables; `_` in the prefix is not a wildcard', async (t) => {
  const db = await createTestDb(t, { prefix: 'p_' });
  await db.execute('CREATE TABLE `pX_decoy` (id INT)');
  await db.execute('CREATE TABLE `other` (id INT)');
  const { root, config } = itopConfig(db);
  const { ctx } = harness(t, config);
  await backupExec.process(ctx);
  const dir = join(root, 'data', 'backups', 'auto');
  const out = tempDir('itop-backup-x-');
  await extract({ file: join(dir, backupsOf(dir)[0] ?? ''), cwd: out });
  const created = [...readFileSync(join(out, 'itop-dump.sql'), 'utf8').matchAll(/CREATE TABLE `([^`]+)`/g)].map((m) => m[1] ?? '');
  assert.ok(created.length > 10);
  assert.deepEqual(created.filter((n) => !n.startsWith('p_')), []);
  assert.ok(created.includes('p_priv_backgroundtask'));

  const none = await createTestDb(t, { prefix: 'zz_', schema: false });
  const other = itopConfig(none);
  await assert.rejects(backupExec.process(harness(t, other.config).ctx), (e: Error) =>
    e instanceof ProcessFatalError && e.message === 'No table has been found with the given prefix');
  assertNothingLeft(join(other.root, 'data', 'backups', 'auto'));
});

test('retention keeps retention_count - 1 old backups plus the new one, by mtime', async (t) => {
  const db = await createTestDb(t);
  const { root, config } = itopConfig(db, {}, "'retention_count' => 3, 'file_name_format' => 'new-__DB__'");
  const dir = join(root, 'data', 'backups', 'auto');
  mkdirSync(dir, { recursive: true });
  const old = ['a.tar.gz', 'b.zip', 'c.tar.gz', 'd.tar.gz', '.hidden.tar.gz', 'notes.txt'];
  old.forEach((name, i) => {
    writeFileSync(join(dir, name), 'x');
    utimesSync(join(dir, name), 1_700_000_000 + i * 60, 1_700_000_000 + i * 60);
  });
  utimesSync(join(dir, 'a.tar.gz'), 1_700_009_000, 1_700_009_000); // the newest old one, despite its name
  mkdirSync(join(dir, '.itop-cron-backup-killed')); // left by a killed backup
  writeFileSync(join(dir, '.itop-cron-backup-killed', 'itop-dump.sql'), 'secret rows');
  await backupExec.process(harness(t, config).ctx);
  assert.deepEqual(readdirSync(dir).sort(), ['.hidden.tar.gz', 'a.tar.gz', 'd.tar.gz', `new-${db.name}.tar.gz`, 'notes.txt']);
});

test('failures leave no archive, no work folder and no password file', async (t) => {
  const db = await createTestDb(t);
  const { root, config } = itopConfig(db);
  const dir = join(root, 'data', 'backups', 'auto');

  const missing = harness(t, config, { params: { mysql_bindir: '/nonexistent/bin' } });
  await assert.rejects(backupExec.process(missing.ctx), (e: Error) =>
    e instanceof ProcessFatalError && /^Failed to execute mysqldump: cannot run it \(ENOENT\)/.test(e.message));
  assert.ok(missing.printed.some((l) => l.startsWith('backup: generate data file with command: "/nonexistent/bin/mysqldump"')));
  assertDefaultsFileRemoved(missing.printed);
  assertNothingLeft(dir);

  // A view on a dropped table: mysqldump itself fails (exit 2) with one line.
  const broken = await createTestDb(t);
  await broken.execute('CREATE TABLE gone (id INT)');
  await broken.execute('CREATE VIEW broken_view AS SELECT id FROM gone');
  await broken.execute('DROP TABLE gone');
  const other = itopConfig(broken);
  const failed = harness(t, other.config);
  await assert.rejects(backupExec.process(failed.ctx), (e: Error) =>
    e instanceof ProcessFatalError && /^Failed to execute mysqldump: .*broken_view/.test(e.message) && !e.message.includes('\n'));
  assert.ok(failed.printed.some((l) => /^Error: Failed to execute: mysqldump .*The command returned:\d+$/.test(l)), failed.printed.join('\n'));
  assertDefaultsFileRemoved(failed.printed);
  assertNothingLeft(join(other.root, 'data', 'backups', 'auto'));

  const stopped = new AbortController();
  stopped.abort();
  await assert.rejects(backupExec.process(harness(t, config, { signal: stopped.signal }).ctx), /Failed to execute mysqldump: interrupted/);
  assertNothingLeft(dir);
});

test('the backup lock is awaited until the deadline only', async (t) => {
  const db = await createTestDb(t);
  const { root, config } = itopConfig(db);
  const holder = await NamedLock.open(config.db, lockName('backup.production', db.name, db.prefix));
  t.after(() => holder.close());
  assert.equal(await holder.acquire(0), true);
  const { ctx } = harness(t, config, { deadline: Date.now() + 1500 });
  await assert.rejects(backupExec.process(ctx), (e: Error) => e instanceof ProcessFatalError && /holds the backup lock/.test(e.message));
  assertNothingLeft(join(root, 'data', 'backups', 'auto'));
  await holder.close();
  assert.match(String(await backupExec.process(harness(t, config).ctx)), /^Created the backup: /);
});

test('the backup directory: itop_cron.backup_dir, or a clear error without iTop root', async (t) => {
  const db = await createTestDb(t);
  const target = tempDir('itop-backups-');
  const { config } = itopConfig(db, { 'itop_cron.backup_dir': target });
  assert.match(String(await backupExec.process(harness(t, config).ctx)), new RegExp(`^Created the backup: ${target}/${db.name}-`));
  const dbOnly = loadConfig({ raw: {}, env: { ...db.env }, cwd: target });
  await assert.rejects(backupExec.process(harness(t, dbOnly).ctx), (e: Error) => e instanceof ProcessFatalError && /itop_cron\.backup_dir/.test(e.message));
  const unsafe = itopConfig(db, {}, "'extra_files' => array('../')");
  await assert.rejects(backupExec.process(harness(t, unsafe.config).ctx), /Considered as UNSAFE/);
  assertNothingLeft(join(unsafe.root, 'data', 'backups', 'auto'));
});

/** Mounts a small tmpfs (root only); undefined when this system does not allow it. */
function mountTmpfs(t: TestContext, options: string): string | undefined {
  const dir = tempDir('itop-backup-fs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  t.after(() => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }));
  return dir;
}

test('a full or read-only backup directory is a ProcessFatalError with nothing left', async (t) => {
  const db = await createTestDb(t);
  // 300 kB of data, so that the dump cannot fit in 64 kB.
  await db.execute(`INSERT INTO ${db.table('inline_image')} (contents_data) VALUES (?)`, [randomBytes(300_000)]);
  const full = mountTmpfs(t, 'size=64k');
  const readOnly = mountTmpfs(t, 'ro,size=64k');
  if (full === undefined || readOnly === undefined) {
    t.skip('mounting a tmpfs needs root');
    return;
  }
  const small = itopConfig(db, { 'itop_cron.backup_dir': full });
  const h = harness(t, small.config);
  await assert.rejects(backupExec.process(h.ctx), (e: Error) => e instanceof ProcessFatalError && /^Failed to execute mysqldump: /.test(e.message));
  assertDefaultsFileRemoved(h.printed);
  assertNothingLeft(full);
  const ro = itopConfig(db, { 'itop_cron.backup_dir': join(readOnly, 'auto') });
  await assert.rejects(backupExec.process(harness(t, ro.config).ctx), (e: Error) =>
    e instanceof ProcessFatalError && /^Cannot create the backup directory: EROFS/.test(e.message));
});
