/**
 * CheckStopWatchThresholds on a real MariaDB, against the real iTop 3.2 SLA scenario (sla-scenario.sql and
 * the cron.php run that produced it, outputs/out-cron-sla-stopwatch.txt): messages, escalations, history
 * rows, flags, idempotence, order, failures.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import type { Config } from '../src/config/types.js';
import { openDb } from '../src/db/connect.js';
import type { Db } from '../src/db/types.js';
import { checkStopWatchThresholds } from '../src/tasks/CheckStopWatchThresholds.js';
import { builtInTasks } from '../src/tasks/registry.js';
import { STOPWATCH_CLASSES, stopwatchesChangingState, targetState } from '../src/tasks/stopwatches/definitions.js';
import type { TaskContext } from '../src/tasks/types.js';
import { createClock } from '../src/time/clock.js';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { NO_REFERENCE, referenceDir } from './helpers/reference.js';
import { createTestDb, type TestDb, type TestDbOptions } from './helpers/testDb.js';

const TZ = 'Europe/Paris';

interface LogLine {
  level: number;
  msg: string;
}

interface Harness {
  readonly db: TestDb;
  readonly logs: LogLine[];
  /** One pass of the task at iTop-local time `at`; `deadlineMs` is relative to `at` (default +60 s). */
  run(at: string, deadlineMs?: number): Promise<string>;
}

function testConfig(db: TestDb): Config {
  const s = db.server;
  return {
    appRoot: undefined,
    configFile: undefined,
    db: {
      host: `${s.host}:${s.port}`, user: s.user, password: s.password, name: db.name, prefix: db.prefix,
      tlsEnabled: false, tlsCa: undefined, socketPath: undefined,
    },
    timezone: TZ,
    cron: { maxExecutionTime: 600, taskMaxExecutionTime: 0, sleep: 2 },
    accessMode: 3,
    settings: {},
    moduleSettings: {},
    extensions: [],
    ownsRegistry: false,
    log: { destination: 'stderr', level: 'silent' },
  };
}

/** A database (our schema or a real dump), the task's own pool on it, a pinned clock and captured logs. */
async function harness(t: TestContext, opts: TestDbOptions): Promise<Harness> {
  const db = await createTestDb(t, opts);
  const config = testConfig(db);
  const itopDb: Db = openDb(config.db);
  t.after(() => itopDb.close());
  const logs: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  let nowMs = 0;
  const clock = createClock(TZ, () => nowMs);
  return {
    db,
    logs,
    async run(at, deadlineMs = 60_000) {
      nowMs = clock.parse(at);
      const ctx: TaskContext = {
        db: itopDb, config, clock, deadline: nowMs + deadlineMs, signal: new AbortController().signal, log,
        print: () => undefined, debug: false, userId: 1, params: {},
      };
      const message = await checkStopWatchThresholds.process(ctx);
      assert.equal(typeof message, 'string');
      return message as string;
    },
  };
}

/** Skips the test when the reference folder is not there. */
function needsReference(t: TestContext): boolean {
  if (referenceDir() !== undefined) return true;
  t.skip(NO_REFERENCE);
  return false;
}

/** Every CheckStopWatchThresholds pass of the real run: its start time and its message. */
function realPasses(): { at: string; message: string }[] {
  const lines = readFileSync(join(referenceDir() ?? '', 'outputs', 'out-cron-sla-stopwatch.txt'), 'utf8').split('\n');
  const passes: { at: string; message: string }[] = [];
  lines.forEach((line, i) => {
    const m = /^>> === (\S+ \S+) Starting: CheckStopWatchThresholds /.exec(line);
    const next = lines[i + 1] ?? '';
    if (m?.[1] !== undefined && next.startsWith('CheckStopWatchThresholds: ')) {
      passes.push({ at: m[1], message: next.slice('CheckStopWatchThresholds: '.length) });
    }
  });
  return passes;
}

type Row = Record<string, unknown>;

async function requestRow(db: TestDb, id: number): Promise<Row> {
  const rows = await db.query<Row>(
    'SELECT r.*, t.ref, t.last_update FROM ticket_request r JOIN ticket t ON t.id = r.id WHERE r.id = ?', [id],
  );
  assert.ok(rows[0], `ticket ${id}`);
  return rows[0];
}

/** The status history of one object, as iTop's four tables hold it, ids checked then dropped. */
async function statusHistory(db: TestDb, objClass: string, id: number): Promise<Row[]> {
  const rows = await db.query<Row>(
    'SELECT c.id AS cid, o.changeid, o.id AS opid, a.id AS aid, s.id AS sid, ' +
      'c.date, c.userinfo, c.user_id, c.origin, ' +
      'o.objclass, o.objkey, o.optype, a.attcode, a.optype AS setatt_optype, s.oldvalue, s.newvalue ' +
      `FROM ${db.table('priv_changeop')} o JOIN ${db.table('priv_change')} c ON c.id = o.changeid ` +
      `LEFT JOIN ${db.table('priv_changeop_setatt')} a ON a.id = o.id ` +
      `LEFT JOIN ${db.table('priv_changeop_setatt_scalar')} s ON s.id = o.id ` +
      "WHERE o.objclass = ? AND o.objkey = ? AND o.optype = 'CMDBChangeOpSetAttributeScalar' ORDER BY o.id",
    [objClass, id],
  );
  return rows.map(({ cid, changeid, opid, aid, sid, ...rest }) => {
    assert.equal(changeid, cid);
    assert.equal(aid, opid);
    assert.equal(sid, opid);
    return rest;
  });
}

/** Both flags of every threshold back to 0 and the status to `status`: the state setup-sla.php left. */
async function resetRequest(db: TestDb, id: number, status: string): Promise<void> {
  const flags = ['tto_75', 'tto_100', 'ttr_75', 'ttr_100'].map((p) => `${p}_passed = 0, ${p}_triggered = 0`).join(', ');
  await db.execute(`UPDATE ticket_request SET status = ?, ${flags} WHERE id = ?`, [status, id]);
}

/** A new UserRequest with ticket 2's real columns, then `fields` on ticket_request. */
async function cloneRequest(db: TestDb, id: number, fields: Record<string, string | number | null>): Promise<void> {
  for (const table of ['ticket', 'ticket_request']) {
    await db.execute(`CREATE TEMPORARY TABLE tmp_clone SELECT * FROM ${table} WHERE id = 2`);
    await db.execute('UPDATE tmp_clone SET id = ?', [id]);
    if (table === 'ticket') await db.execute('UPDATE tmp_clone SET ref = ?', [`R-${String(id).padStart(6, '0')}`]);
    await db.execute(`INSERT INTO ${table} SELECT * FROM tmp_clone`);
    await db.execute('DROP TEMPORARY TABLE tmp_clone');
  }
  await resetRequest(db, id, 'new');
  const sets = Object.keys(fields).map((k) => `\`${k}\` = ?`).join(', ');
  await db.execute(`UPDATE ticket_request SET ${sets} WHERE id = ?`, [...Object.values(fields), id]);
}

const PAST = '2026-11-24 00:00:00';
const LATER = '2026-11-24 23:00:00';
const NOW = '2026-11-24 10:00:00';

/** The four threshold deadlines of a request, tto 75, tto 100, ttr 75, ttr 100. */
function deadlines(tto75: string, tto100: string, ttr75 = LATER, ttr100 = LATER): Record<string, string> {
  return { tto_75_deadline: tto75, tto_100_deadline: tto100, ttr_75_deadline: ttr75, ttr_100_deadline: ttr100 };
}

/** Some columns of a row, in order. */
function pick(row: Row, ...columns: string[]): unknown[] {
  return columns.map((c) => row[c]);
}

test('the definitions: no ev_timeout transition starts or stops a stopwatch; the task is registered first', () => {
  for (const def of STOPWATCH_CLASSES) {
    for (const [from, to] of Object.entries(def.transitions['ev_timeout'] ?? {})) {
      assert.deepEqual(stopwatchesChangingState(def, from, to), [], `${def.className} ${from} → ${to}`);
    }
  }
  const [request] = STOPWATCH_CLASSES;
  assert.ok(request);
  assert.equal(targetState(request, 'ev_timeout', 'assigned'), 'escalated_ttr');
  assert.equal(targetState(request, 'ev_timeout', 'escalated_tto'), undefined);
  assert.equal(targetState(request, 'ev_timeout', 'constructor'), undefined);
  assert.equal(builtInTasks()[0]?.className, 'CheckStopWatchThresholds');
  assert.equal(checkStopWatchThresholds.periodicity?.({} as Config), 10);
});

test('replays the real SLA run pass by pass: the same 21 messages, final rows and history as cron.php', async (t) => {
  if (!needsReference(t)) return;
  const h = await harness(t, { reference: 'sla-scenario' });
  const { db } = h;
  const finalRequest = await requestRow(db, 2);
  const realHistory = await statusHistory(db, 'UserRequest', 2);
  const untouched = await requestRow(db, 1);
  assert.equal(realHistory.length, 1);
  // Back to the state setup-sla.php left at 00:11:12: no threshold fired, no escalation history.
  for (const table of ['priv_changeop_setatt', 'priv_changeop_setatt_scalar', 'priv_changeop']) {
    await db.execute(`DELETE FROM ${table} WHERE id = 233`);
  }
  await db.execute('DELETE FROM priv_change WHERE id = 9');
  await resetRequest(db, 2, 'new');
  await db.execute("UPDATE ticket SET last_update = '2026-11-24 00:11:12' WHERE id = 2");

  const passes = realPasses();
  assert.equal(passes.length, 21);
  for (const pass of passes) assert.equal(await h.run(pass.at), pass.message, `pass at ${pass.at}`);

  assert.deepEqual(await requestRow(db, 2), finalRequest);
  assert.deepEqual(await statusHistory(db, 'UserRequest', 2), realHistory);
  assert.deepEqual(realHistory[0], {
    date: '2026-11-24 00:12:22', userinfo: 'Background task (CheckStopWatchThresholds)', user_id: 1,
    origin: 'interactive', objclass: 'UserRequest', objkey: 2, optype: 'CMDBChangeOpSetAttributeScalar',
    attcode: 'status', setatt_optype: 'CMDBChangeOpSetAttributeScalar', oldvalue: 'new', newvalue: 'escalated_tto',
  });
  // Ticket 1 runs its stopwatches with NULL deadlines (no SLT matched): never selected, never touched.
  assert.deepEqual(await requestRow(db, 1), untouched);
  assert.equal(untouched['tto_75_deadline'], null);
  // TTR 100 reached in escalated_tto: iTop's error line, no transition, threshold marked all the same.
  assert.deepEqual(
    h.logs.filter((l) => l.level >= 40).map((l) => [l.level, l.msg]),
    [[50, 'UserRequest: Transition ev_timeout is not allowed in escalated_tto']],
  );
  assert.equal(await h.run('2026-11-24 00:20:00'), 'Triggered 0 threshold(s):');
});

/** The recommended indexes (docs/tasks.md): one per (stopwatch, threshold). */
async function addThresholdIndexes(db: TestDb): Promise<void> {
  for (const p of ['tto_75', 'tto_100', 'ttr_75', 'ttr_100']) {
    await db.execute(`ALTER TABLE ticket_request ADD INDEX ${p}_due (${p}_triggered, ${p}_deadline)`);
  }
}

for (const indexed of [false, true]) {
  const name = `several tickets (${indexed ? 'with' : 'without'} the threshold indexes): ` +
    'ref DESC within a threshold, one change per escalation, idempotent';
  test(name, async (t) => {
    if (!needsReference(t)) return;
    const h = await harness(t, { reference: 'sla-scenario' });
    const { db } = h;
    if (indexed) await addThresholdIndexes(db);
    const overdueTto = deadlines(PAST, PAST);
    await cloneRequest(db, 3, overdueTto);
    await cloneRequest(db, 4, overdueTto);
    // Assigned: TTO stopped (its overdue deadlines no longer count), TTR 100 overdue, 75 already fired.
    await cloneRequest(db, 5, {
      status: 'assigned', tto_laststart: null, tto_stopped: '2026-11-24 00:11:40', tto_timespent: 28,
      tto_75_deadline: PAST, tto_100_deadline: PAST, ttr_75_deadline: PAST, ttr_75_passed: 1, ttr_75_triggered: 1,
      ttr_100_deadline: PAST,
    });
    // A stopwatch that never started has NULL deadlines: never selected.
    await cloneRequest(db, 6, {
      tto_laststart: null, tto_started: null, tto_75_deadline: null, tto_100_deadline: null,
      ttr_75_deadline: null, ttr_100_deadline: null,
    });
    const before5 = await requestRow(db, 5);
    const before6 = await requestRow(db, 6);

    assert.equal(
      await h.run(NOW),
      'Triggered 5 threshold(s):UserRequest::4 tto 75, UserRequest::3 tto 75, UserRequest::4 tto 100, ' +
        'UserRequest::3 tto 100, UserRequest::5 ttr 100',
    );
    for (const id of [3, 4]) {
      const row = await requestRow(db, id);
      assert.equal(row['status'], 'escalated_tto');
      assert.equal(row['last_update'], NOW);
      for (const p of ['tto_75', 'tto_100']) assert.deepEqual(pick(row, `${p}_passed`, `${p}_triggered`), [1, 1]);
      for (const p of ['ttr_75', 'ttr_100']) assert.deepEqual(pick(row, `${p}_passed`, `${p}_triggered`), [0, 0]);
    }
    const row5 = await requestRow(db, 5);
    assert.deepEqual(row5, {
      ...before5, status: 'escalated_ttr', ttr_100_passed: 1, ttr_100_triggered: 1, last_update: NOW,
    });
    assert.deepEqual(await requestRow(db, 6), before6);
    // iTop's current change: a mark opens 'Automatic - threshold triggered', and the tto 75 marks came first.
    const expected = [[3, 'escalated_tto'], [4, 'escalated_tto'], [5, 'escalated_ttr']] as const;
    for (const [id, to] of expected) {
      const history = await statusHistory(db, 'UserRequest', id);
      assert.deepEqual(
        history.map((r) => pick(r, 'userinfo', 'date', 'user_id', 'oldvalue', 'newvalue')),
        [['Automatic - threshold triggered', NOW, 1, id === 5 ? 'assigned' : 'new', to]],
      );
    }
    const changes = await db.query('SELECT COUNT(*) AS n FROM priv_change');
    assert.equal(h.logs.filter((l) => l.level >= 40).length, 0);

    assert.equal(await h.run('2026-11-24 10:00:10'), 'Triggered 0 threshold(s):');
    assert.deepEqual(await db.query('SELECT COUNT(*) AS n FROM priv_change'), changes);
    assert.equal((await requestRow(db, 4))['last_update'], NOW);
  });
}

test('a ticket that fails is rolled back whole and retried at the next pass; the others are marked', async (t) => {
  if (!needsReference(t)) return;
  const h = await harness(t, { reference: 'sla-scenario' });
  const { db } = h;
  const overdue100 = deadlines(LATER, PAST);
  await cloneRequest(db, 3, overdue100);
  await cloneRequest(db, 4, overdue100);
  const changesBefore = await db.query('SELECT id FROM priv_change');
  // A real failure in the middle of ticket 3's escalation: its history insert is refused by the server.
  await db.execute(
    "CREATE TRIGGER refuse_3 BEFORE INSERT ON priv_changeop FOR EACH ROW IF NEW.objkey = 3 THEN " +
      "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused for the test'; END IF",
  );
  assert.equal(await h.run(NOW), 'Triggered 1 threshold(s):UserRequest::4 tto 100');
  const row3 = await requestRow(db, 3);
  assert.deepEqual(pick(row3, 'status', 'tto_100_triggered', 'tto_100_passed'), ['new', 0, 0]);
  assert.equal((await requestRow(db, 4))['status'], 'escalated_tto');
  assert.equal((await db.query('SELECT id FROM priv_change')).length, changesBefore.length + 1, 'no orphan change');
  const errors = h.logs.filter((l) => l.level >= 50).map((l) => l.msg);
  assert.equal(errors.length, 1);
  assert.equal(errors[0], 'UserRequest::3 tto 100: not processed, retried at the next pass: refused for the test');

  await db.execute('DROP TRIGGER refuse_3');
  assert.equal(await h.run('2026-11-24 10:00:10'), 'Triggered 1 threshold(s):UserRequest::3 tto 100');
  assert.deepEqual(
    (await statusHistory(db, 'UserRequest', 3)).map((r) => pick(r, 'userinfo', 'date', 'newvalue')),
    [['Background task (CheckStopWatchThresholds)', '2026-11-24 10:00:10', 'escalated_tto']],
  );
});

test('archived tickets are skipped (ticket.archive_flag); an absent Incident table is skipped silently', async (t) => {
  if (!needsReference(t)) return;
  const h = await harness(t, { reference: 'sla-scenario' });
  const { db } = h;
  assert.deepEqual(await db.query("SHOW TABLES LIKE 'ticket_incident'"), []);
  const overdue75 = deadlines(PAST, LATER);
  await cloneRequest(db, 3, overdue75);
  await cloneRequest(db, 4, overdue75);
  // What iTop's setup adds to the root table of a class once archiving is enabled for it.
  await db.execute(
    'ALTER TABLE ticket ADD COLUMN archive_flag tinyint(1) unsigned DEFAULT 0, ADD COLUMN archive_date date DEFAULT NULL',
  );
  await db.execute("UPDATE ticket SET archive_flag = 1, archive_date = '2026-11-23' WHERE id = 4");
  assert.equal(await h.run(NOW), 'Triggered 1 threshold(s):UserRequest::3 tto 75');
  assert.equal((await requestRow(db, 4))['tto_75_triggered'], 0);
  assert.deepEqual(h.logs.filter((l) => l.level >= 40), []);
});

test('past the time limit nothing is processed; the tickets stay due', async (t) => {
  if (!needsReference(t)) return;
  const h = await harness(t, { reference: 'sla-scenario' });
  await cloneRequest(h.db, 3, deadlines(PAST, LATER));
  const before = await requestRow(h.db, 3);
  assert.equal(await h.run(NOW, 0), 'Triggered 0 threshold(s):');
  assert.deepEqual(await requestRow(h.db, 3), before);
  assert.equal(await h.run(NOW), 'Triggered 1 threshold(s):UserRequest::3 tto 75');
});

/** An Incident on our own schema: ticket + ticket_incident with the same id, as iTop writes a ticket. */
async function insertIncident(db: TestDb, id: number, status: string, sw: Record<string, string | number | null>) {
  await db.execute(
    `INSERT INTO ${db.table('ticket')} ` +
      '(id, operational_status, ref, org_id, title, start_date, last_update, finalclass) ' +
      "VALUES (?, 'ongoing', ?, 1, 'Incident', '2026-11-24 08:00:00', '2026-11-24 08:00:00', 'Incident')",
    [id, `I-${String(id).padStart(6, '0')}`],
  );
  const base: Record<string, string | number | null> = { id, status };
  for (const code of ['tto', 'ttr']) {
    const start = '2026-11-24 08:00:00';
    Object.assign(base, { [`${code}_timespent`]: 0, [`${code}_started`]: start, [`${code}_laststart`]: start });
    for (const i of [75, 100]) {
      Object.assign(base, { [`${code}_${i}_deadline`]: LATER, [`${code}_${i}_passed`]: 0, [`${code}_${i}_triggered`]: 0 });
    }
  }
  const row = { ...base, ...sw };
  await db.execute(
    `INSERT INTO ${db.table('ticket_incident')} (${Object.keys(row).join(', ')}) ` +
      `VALUES (${Object.keys(row).map(() => '?').join(', ')})`,
    Object.values(row),
  );
}

test('Incident (our schema, with a table prefix): new → escalated_tto, assigned → escalated_ttr', async (t) => {
  const h = await harness(t, { prefix: 'itop_' });
  const { db } = h;
  await insertIncident(db, 1, 'assigned', {
    tto_laststart: null, tto_stopped: '2026-11-24 08:05:00',
    ttr_75_deadline: PAST, ttr_75_passed: 1, ttr_75_triggered: 1, ttr_100_deadline: PAST,
  });
  await insertIncident(db, 2, 'new', { tto_75_deadline: PAST, tto_100_deadline: PAST });
  assert.equal(
    await h.run(NOW),
    'Triggered 3 threshold(s):Incident::2 tto 75, Incident::2 tto 100, Incident::1 ttr 100',
  );
  const statuses = await db.query(
    `SELECT id, status, tto_100_triggered, ttr_100_triggered FROM ${db.table('ticket_incident')} ORDER BY id`,
  );
  assert.deepEqual(statuses, [
    { id: 1, status: 'escalated_ttr', tto_100_triggered: 0, ttr_100_triggered: 1 },
    { id: 2, status: 'escalated_tto', tto_100_triggered: 1, ttr_100_triggered: 0 },
  ]);
  assert.deepEqual(
    (await statusHistory(db, 'Incident', 1)).map((r) => pick(r, 'objclass', 'userinfo', 'oldvalue', 'newvalue')),
    [['Incident', 'Automatic - threshold triggered', 'assigned', 'escalated_ttr']],
  );
  assert.equal(await h.run('2026-11-24 10:00:10'), 'Triggered 0 threshold(s):');
});

test('the built CLI, verbose: the CheckStopWatchThresholds line, the escalation and its history', async (t) => {
  if (!needsReference(t)) return;
  const db = await createTestDb(t, { reference: 'sla-scenario' });
  const never = '2999-01-01 00:00:00';
  await resetRequest(db, 2, 'new');
  const due = deadlines('2000-01-01 00:00:00', '2000-01-01 00:00:01', never, never);
  await db.execute(
    `UPDATE ticket_request SET ${Object.keys(due).map((c) => `${c} = ?`).join(', ')} WHERE id = 2`,
    Object.values(due),
  );
  await db.execute(
    "UPDATE priv_backgroundtask SET next_run_date = '2000-01-01 00:00:00' WHERE class_name = 'CheckStopWatchThresholds'",
  );
  const params = writeParamFile('auth_user=admin\nauth_pwd=Admin.123456\n');
  const r = await runCli([`--param_file=${params}`, '--verbose=1'], {
    env: cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '3', ITOP_CRON_SLEEP: '1' }),
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('CheckStopWatchThresholds: '));
  assert.equal(lines[0], 'CheckStopWatchThresholds: Triggered 2 threshold(s):UserRequest::2 tto 75, UserRequest::2 tto 100');
  // A slow machine may stretch the run past the 10 s period: a later pass finds nothing left.
  assert.deepEqual(lines.slice(1), lines.slice(1).map(() => 'CheckStopWatchThresholds: Triggered 0 threshold(s):'));
  const row = await requestRow(db, 2);
  const flags = pick(row, 'status', 'tto_75_triggered', 'tto_100_triggered', 'ttr_75_triggered');
  assert.deepEqual(flags, ['escalated_tto', 1, 1, 0]);
  const history = await statusHistory(db, 'UserRequest', 2);
  assert.deepEqual(
    history.slice(1).map((r) => pick(r, 'userinfo', 'user_id', 'origin', 'oldvalue', 'newvalue')),
    [['Automatic - threshold triggered', 1, 'interactive', 'new', 'escalated_tto']],
  );
});
