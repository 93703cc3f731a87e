/**
 * `npm run bench`: itop-cron measured against its floors on a throwaway MariaDB and SMTP sink, one table
 * printed and recorded in bench/RESULTS.md. Never part of `npm test`. Knobs: BENCH_MINUTES, BENCH_REPS,
 * BENCH_IDLE_SECONDS, BENCH_CLUSTER_CLASSES, BENCH_CLUSTER_SECONDS, BENCH_ONLY (see lib/options.ts).
 */
import { describeMachine } from './lib/machine.js';
import { benchOptions, FIGURES, type BenchOptions, type FigureId } from './lib/options.js';
import { textTable, type ResultRow } from './lib/report.js';
import { saveResults, type GroupResult } from './lib/results.js';
import { startBenchServer, type BenchServer } from './lib/server.js';
import { asyncMailFigures } from './figures/asyncMail.js';
import { clusterFigures } from './figures/cluster.js';
import { consoleFigures } from './figures/console.js';
import { idlePassFigures } from './figures/idlePass.js';
import { inlineImageGCFigures } from './figures/inlineImageGC.js';
import { longRunFigures } from './figures/longRun.js';
import { startupFigures } from './figures/startup.js';
import { phpBridgeFigures } from './figures/phpBridge.js';
import { statusOnlyFigures } from './figures/statusOnly.js';
import { stopwatchFigures } from './figures/stopwatch.js';

/** What one group measures: its rows and notes. */
interface Measured {
  readonly rows: readonly ResultRow[];
  readonly notes?: readonly string[];
  readonly settings: string;
}

type Runner = (server: BenchServer, opts: BenchOptions) => Promise<Measured>;

const RUNNERS: Partial<Record<FigureId, Runner>> = {
  startup: async (_s, o) => ({ rows: await startupFigures(o.reps), settings: `median of ${Math.max(21, o.reps * 4)} alternated rounds of node -e 0, --version and --help` }),
  status: async (s, o) => ({ rows: await statusOnlyFigures(s, o.reps), settings: `median of ${o.reps} runs of each side` }),
  idle: async (s, o) => {
    const r = await idlePassFigures(s, o.idleSeconds);
    return { ...r, settings: `one ${o.idleSeconds} s window, both sides side by side` };
  },
  mail: async (s, o) => {
    const reps = Math.min(o.reps, 3);
    return { rows: await asyncMailFigures(s, reps), settings: `median of ${reps} runs of each side, rate at the sink from first to last message` };
  },
  stopwatch: async (s, o) => ({ ...(await stopwatchFigures(s, o.reps)), settings: `median of ${o.reps} passes of each kind` }),
  gc: async (s, o) => {
    const reps = Math.min(o.reps, 3);
    return { rows: await inlineImageGCFigures(s, reps), settings: `median of ${reps} runs of each side, each on a fresh copy of the table` };
  },
  console: async (s, o) => ({ rows: await consoleFigures(s, o.reps), settings: `median of ${Math.max(o.reps, 5) * 2} renderings after one warm-up` }),
  long: async (s, o) => ({
    ...(await longRunFigures(s, o.minutes)),
    settings: `one run of ${o.minutes} min${o.minutes < 10 ? ' (SHORTER than the 10 min of the issue: BENCH_MINUTES)' : ''}, cron_sleep 2`,
  }),
  php: async (s, o) => ({
    ...(await phpBridgeFigures(s, o.reps)),
    settings: `median of ${o.reps} alternated 10 s runs of each side (real iTop 3.2 tree, real cron.php), hung task ${Math.min(o.reps, 3)} runs`,
  }),
  cluster: async (s, o) => {
    const failovers = Math.max(10, o.reps * 2);
    const idleSeconds = Math.min(o.idleSeconds, 30);
    const r = await clusterFigures(s, { failovers, idleSeconds, tickClasses: o.clusterClasses, tickSeconds: o.clusterSeconds, lanes: 6 });
    return { ...r, settings: `failover median of ${failovers} kills on a 3-node Galera cluster on loopback; idle windows of ${idleSeconds} s; exactly-once ${o.clusterClasses} tasks × ${o.clusterSeconds} s` };
  },
};

async function main(): Promise<number> {
  const opts = benchOptions();
  const server = await startBenchServer();
  const machine = describeMachine(server.version);
  process.stderr.write(`# bench: MariaDB ${server.version} on 127.0.0.1:${server.port}; ${machine.nproc} CPUs ${machine.cpu}\n`);
  const updates: Partial<Record<FigureId, GroupResult>> = {};
  const rows: ResultRow[] = [];
  try {
    for (const id of FIGURES) {
      const runner = RUNNERS[id];
      if (!opts.only.has(id)) continue;
      if (runner === undefined) {
        process.stderr.write(`# ${id}: not available yet (its task is not in the product), skipped\n`);
        continue;
      }
      process.stderr.write(`# ${id}: measuring...\n`);
      const m = await runner(server, opts);
      rows.push(...m.rows);
      updates[id] = { measuredAt: new Date().toISOString(), machine, settings: m.settings, rows: m.rows, notes: m.notes ?? [] };
      process.stderr.write(`${textTable(m.rows)}\n`);
    }
  } finally {
    await server.stop();
  }
  saveResults(updates, FIGURES);
  process.stdout.write(`\n${textTable(rows)}\n`);
  return 0;
}

process.exitCode = await main();
