/**
 * The idle pass (nothing due): statements per pass from the server's general log, and CPU over the
 * window from /proc, for itop-cron's loop and for its floor (one indexed SELECT per cron_sleep), run side
 * by side on the same server for the same window.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { builtInTasks } from '../../src/tasks/registry.js';
import { cronCommand, cronEnv, floorCommand, floorEnv, seedRegistry } from '../lib/cron.js';
import { isStatement, startGeneralLog, statementsOf, stopGeneralLog, type LoggedStatement } from '../lib/generalLog.js';
import { cpuSeconds, startChild } from '../lib/proc.js';
import type { ResultRow } from '../lib/report.js';
import { CRON_SQL_USER, type BenchServer } from '../lib/server.js';

const CRON_SLEEP = 2;
/** Start-up (login, resync, lock) is over well before this; the window starts after it. */
const SETTLE_MS = 6000;

export interface IdleResult {
  readonly rows: ResultRow[];
  readonly notes: string[];
}

/** The passes (due-task selects) and every statement of the cron's connections inside [from, to]. */
function countWindow(all: readonly LoggedStatement[], floorThread: number, from: number, to: number): { passes: number; statements: number; others: string[] } {
  const cron = all.filter((s) => s.threadId !== floorThread && isStatement(s) && s.at >= from && s.at <= to);
  const passes = cron.filter((s) => s.argument.includes('IS_USED_LOCK'));
  const others = cron.filter((s) => !s.argument.includes('IS_USED_LOCK')).map((s) => s.argument.slice(0, 120));
  return { passes: passes.length, statements: cron.length, others };
}

/** Runs both sides for `seconds` of steady idling and compares them. */
export async function idlePassFigures(server: BenchServer, seconds: number): Promise<IdleResult> {
  const db = await server.createDb('idle');
  try {
    await seedRegistry(db, builtInTasks(), '2030-01-01 00:00:00');
    await startGeneralLog(server.root);
    const [cmd, args] = cronCommand();
    const total = Math.ceil(seconds + (2 * SETTLE_MS) / 1000);
    const cron = startChild(cmd, args, {
      env: cronEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: String(total), ITOP_CRON_SLEEP: String(CRON_SLEEP) }),
    });
    const [fcmd, fargs] = floorCommand('idle');
    const floor = startChild(fcmd, fargs, { env: floorEnv(db, { BENCH_SECONDS: String(total), BENCH_SLEEP: String(CRON_SLEEP) }) });
    await sleep(SETTLE_MS);
    const from = Date.now();
    const cpu0 = [cpuSeconds(cron.pid), cpuSeconds(floor.pid)];
    await sleep(seconds * 1000);
    const cpu1 = [cpuSeconds(cron.pid), cpuSeconds(floor.pid)];
    const to = Date.now();
    cron.kill();
    const [cronOut, floorOut] = await Promise.all([cron.done, floor.done]);
    await stopGeneralLog(server.root);
    if (Number.isNaN(cpu1[0]) || Number.isNaN(cpu1[1])) {
      throw new Error(`a process ended early: cron ${cronOut.stdout.slice(0, 300)} ${cronOut.stderr.slice(0, 300)} floor ${floorOut.stderr.slice(0, 300)}`);
    }
    const floorThread = Number(/thread (\d+)/.exec(floorOut.stdout)?.[1] ?? -1);
    const all = await statementsOf(server.root, CRON_SQL_USER);
    const c = countWindow(all, floorThread, from, to);
    const f = all.filter((s) => s.threadId === floorThread && isStatement(s) && s.at >= from && s.at <= to).length;
    const window = (to - from) / 1000;
    const cronPct = (((cpu1[0] ?? 0) - (cpu0[0] ?? 0)) / window) * 100;
    const floorPct = (((cpu1[1] ?? 0) - (cpu0[1] ?? 0)) / window) * 100;
    const perPass = c.statements / c.passes;
    return {
      rows: [
        {
          figure: `SQL statements per idle pass (${window.toFixed(0)} s, cron_sleep ${CRON_SLEEP})`,
          value: `${perPass.toFixed(2)} (${c.statements} stmts / ${c.passes} passes)`,
          floor: `${(f / Math.max(1, c.passes)).toFixed(2)} (${f} stmts)`,
          ratio: perPass,
          target: 'exactly 1',
          pass: c.statements === c.passes && c.passes > 0,
        },
        {
          figure: `CPU while idle (nothing due), % of a core (${window.toFixed(0)} s)`,
          value: `${cronPct.toFixed(3)} %`, floor: `${floorPct.toFixed(3)} %`, ratio: cronPct / floorPct,
          target: '≤ 1 % of a core', pass: cronPct <= 1,
        },
      ],
      notes: [
        `Idle window ${window.toFixed(1)} s after ${SETTLE_MS / 1000} s of start-up; CPU from /proc/<pid>/stat (utime+stime, 10 ms ticks).`,
        ...(c.others.length > 0 ? [`Statements other than the pass select: ${c.others.join(' ; ')}`] : []),
      ],
    };
  } finally {
    await stopGeneralLog(server.root).catch(() => undefined);
    await db.drop();
  }
}
