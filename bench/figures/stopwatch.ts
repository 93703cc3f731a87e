/**
 * CheckStopWatchThresholds on 10,000 and 1,000,000 UserRequests: a pass with nothing due, with and
 * without the recommended index (docs/tasks.md, "CheckStopWatchThresholds"), against the same SELECTs run by the
 * mysql client (captured from the general log of the task's own pass); then a pass with 1,000 tickets due.
 */
import { checkStopWatchThresholds } from '../../src/tasks/CheckStopWatchThresholds.js';
import { isStatement, startGeneralLog, statementsOf, stopGeneralLog } from '../lib/generalLog.js';
import { runClient } from '../lib/mysqlClient.js';
import type { ResultRow } from '../lib/report.js';
import { CRON_SQL_USER, type BenchDb, type BenchServer } from '../lib/server.js';
import { median } from '../lib/stats.js';
import { buildTickets, INDEXES, makeTicketsDue } from '../lib/tickets.js';
import { benchTaskContext, type BenchTaskContext } from '../lib/taskContext.js';

const DUE = 1000;

/** Times one pass with nothing due (ms); throws if something was triggered. */
async function idlePass(t: BenchTaskContext): Promise<number> {
  const start = performance.now();
  const message = await checkStopWatchThresholds.process(t.ctx);
  const ms = performance.now() - start;
  if (message !== 'Triggered 0 threshold(s):') throw new Error(`nothing should be due: ${String(message)}`);
  return ms;
}

/** The due-ticket SELECTs of one pass, as the server received them (parameters inlined by mysql2). */
async function captureSelects(server: BenchServer, t: BenchTaskContext): Promise<string> {
  await startGeneralLog(server.root);
  await idlePass(t);
  await stopGeneralLog(server.root);
  const selects = (await statementsOf(server.root, CRON_SQL_USER))
    .filter((s) => isStatement(s) && s.argument.startsWith('SELECT r.id AS id, t.ref AS ref'))
    .map((s) => s.argument);
  if (selects.length === 0) throw new Error('no threshold SELECT seen in the general log');
  return `${selects.join(';\n')};`;
}

interface PassTimes { readonly task: number; readonly client: number; readonly selects: number }

async function measurePass(server: BenchServer, db: BenchDb, t: BenchTaskContext, reps: number): Promise<PassTimes> {
  await idlePass(t); // warm-up: table caches, the task's per-Db caches (as in a running cron)
  const sql = await captureSelects(server, t);
  const task: number[] = [];
  const client: number[] = [];
  for (let i = 0; i < reps; i++) {
    task.push(await idlePass(t));
    client.push((await runClient(db, sql)).wallMs);
  }
  return { task: median(task), client: median(client), selects: sql.split(';\n').length };
}

async function escalationRate(t: BenchTaskContext): Promise<number> {
  const start = performance.now();
  const message = String(await checkStopWatchThresholds.process(t.ctx));
  const s = (performance.now() - start) / 1000;
  if (!message.startsWith(`Triggered ${DUE} threshold(s):`)) throw new Error(`expected ${DUE} escalations: ${message.slice(0, 200)}`);
  return DUE / s;
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;

/** The stopwatch rows; `reps` passes of each kind, median kept. */
export async function stopwatchFigures(server: BenchServer, reps: number): Promise<{ rows: ResultRow[]; notes: string[] }> {
  const sizes = [10_000, 1_000_000] as const;
  const dbs: BenchDb[] = [];
  const ctxs: BenchTaskContext[] = [];
  try {
    const without: PassTimes[] = [];
    const withIdx: PassTimes[] = [];
    for (const n of sizes) {
      const db = await server.createDb(`sw${n}`);
      dbs.push(db);
      await buildTickets(db, n);
      const t = benchTaskContext(db);
      ctxs.push(t);
      without.push(await measurePass(server, db, t, reps));
      await db.execute(`ALTER TABLE ticket_request ${INDEXES}`);
      await db.execute(`ALTER TABLE ticket_incident ${INDEXES}`);
      withIdx.push(await measurePass(server, db, t, reps));
    }
    const big = dbs[1] as BenchDb;
    const bigCtx = ctxs[1] as BenchTaskContext;
    const rates: number[] = [];
    for (let i = 0; i < Math.min(reps, 3); i++) {
      await makeTicketsDue(big, DUE);
      rates.push(await escalationRate(bigCtx));
    }
    const rate = median(rates);
    const [w10, w1m] = withIdx as [PassTimes, PassTimes];
    const [n10, n1m] = without as [PassTimes, PassTimes];
    const rows: ResultRow[] = [
      { figure: 'CheckStopWatchThresholds idle pass, 10,000 tickets, with index', value: ms(w10.task), floor: ms(w10.client), ratio: w10.task / w10.client, target: '—', pass: undefined },
      { figure: 'CheckStopWatchThresholds idle pass, 1,000,000 tickets, with index', value: ms(w1m.task), floor: ms(w1m.client), ratio: w1m.task / w1m.client, target: '—', pass: undefined },
      {
        figure: 'CheckStopWatchThresholds idle pass time 1M / 10k, with index',
        value: `${(w1m.task / w10.task).toFixed(2)}`, floor: `${(w1m.client / w10.client).toFixed(2)}`, ratio: w1m.task / w10.task,
        target: '1M/10k ≤ 2', pass: w1m.task / w10.task <= 2,
      },
      { figure: 'CheckStopWatchThresholds idle pass, 10,000 tickets, no index', value: ms(n10.task), floor: ms(n10.client), ratio: n10.task / n10.client, target: '—', pass: undefined },
      { figure: 'CheckStopWatchThresholds idle pass, 1,000,000 tickets, no index', value: ms(n1m.task), floor: ms(n1m.client), ratio: n1m.task / n1m.client, target: '—', pass: undefined },
      {
        figure: 'CheckStopWatchThresholds idle pass time 1M / 10k, no index',
        value: `${(n1m.task / n10.task).toFixed(2)}`, floor: `${(n1m.client / n10.client).toFixed(2)}`, ratio: n1m.task / n10.task,
        target: '(documented cost)', pass: undefined,
      },
      {
        figure: `CheckStopWatchThresholds: ${DUE.toLocaleString('en-US')} due among 1,000,000 (escalation + history)`,
        value: `${rate.toFixed(0)} tickets/s`, floor: '—', ratio: Number.NaN, target: '≥ 200 tickets/s', pass: rate >= 200,
      },
    ];
    return {
      rows,
      notes: [
        `A pass runs ${w10.selects} threshold SELECTs (UserRequest and Incident × tto/ttr × 75/100); the floor replays them with the mariadb client (its start-up included).`,
        `Recommended index, on ticket_request and ticket_incident: ALTER TABLE ... ${INDEXES}.`,
        `Escalation: median of ${rates.length} passes of ${DUE} due tickets each (${rates.map((r) => r.toFixed(0)).join(', ')} tickets/s); up to 20 tickets per transaction (one durable commit each).`,
      ],
    };
  } finally {
    for (const t of ctxs) await t.close();
    for (const db of dbs) await db.drop();
  }
}
