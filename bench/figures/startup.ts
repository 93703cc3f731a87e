/**
 * `itop-cron --version` and `--help` against a bare `node -e 0`, started the same way (spawn to exit,
 * through the same GNU time wrapper), alternated in one loop so that the machine's drift hits all three
 * alike. These starts load one small file (dist/quick/quick.js): no database driver, configuration
 * reader or logger.
 */
import { BIN, sharedEnv } from '../lib/cron.js';
import { runMeasured, type MeasuredRun } from '../lib/proc.js';
import type { ResultRow } from '../lib/report.js';
import { median } from '../lib/stats.js';

const TARGET = 1.3;

async function checked(run: Promise<MeasuredRun>, what: string): Promise<MeasuredRun> {
  const r = await run;
  if (r.code !== 0 || (what !== 'node -e 0' && r.stdout === '')) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.slice(0, 300)}`);
  return r;
}

/**
 * `reps` rounds after one warm-up round. A start is ~50 ms, so the median is kept over at least 21
 * rounds (5 are too few to see a few milliseconds).
 */
export async function startupFigures(reps: number): Promise<ResultRow[]> {
  const rounds = Math.max(21, reps * 4);
  // The same few variables for all three: the harness's environment may hold NODE_EXTRA_CA_CERTS, which
  // adds a CA bundle's parsing (~50 ms) to every start and so hides the difference (bench/lib/cron.ts).
  const env = sharedEnv();
  const runs = { floor: [] as number[], version: [] as number[], help: [] as number[] };
  for (let i = 0; i <= rounds; i++) {
    const f = await checked(runMeasured(process.execPath, ['-e', '0'], { env }), 'node -e 0');
    const v = await checked(runMeasured(process.execPath, [BIN, '--version'], { env }), 'itop-cron --version');
    const h = await checked(runMeasured(process.execPath, [BIN, '--help'], { env }), 'itop-cron --help');
    if (i === 0) continue;
    runs.floor.push(f.wallMs);
    runs.version.push(v.wallMs);
    runs.help.push(h.wallMs);
  }
  const floor = median(runs.floor);
  const row = (what: string, ms: number): ResultRow => ({
    figure: `itop-cron ${what} start-up wall time (floor: node -e 0)`,
    value: `${ms.toFixed(0)} ms`, floor: `${floor.toFixed(0)} ms`, ratio: ms / floor,
    target: `≤ ${TARGET}×`, pass: ms / floor <= TARGET,
  });
  return [row('--version', median(runs.version)), row('--help', median(runs.help))];
}
