/** The knobs of `npm run bench`, all from the environment so that `npm run bench` needs no arguments. */

/** The figure groups, in the order they run. */
export const FIGURES = ['startup', 'status', 'idle', 'mail', 'gc', 'stopwatch', 'console', 'long', 'php', 'cluster'] as const;
export type FigureId = (typeof FIGURES)[number];

export interface BenchOptions {
  /** BENCH_MINUTES: length of the long run (lateness and RSS), default 10. */
  readonly minutes: number;
  /** BENCH_REPS: repetitions of each short measurement (the median is kept), default 5. */
  readonly reps: number;
  /** BENCH_IDLE_SECONDS: the idle-pass window, default 60. */
  readonly idleSeconds: number;
  /** BENCH_CLUSTER_CLASSES: 1-second tasks of the cluster group's exactly-once run, default 50. */
  readonly clusterClasses: number;
  /** BENCH_CLUSTER_SECONDS: length of that run (s), default 220 (50 × 220 ≈ 11,000 occurrences). */
  readonly clusterSeconds: number;
  /** BENCH_ONLY: comma-separated figure groups to run (default all). */
  readonly only: ReadonlySet<FigureId>;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not '${raw}'`);
  return n;
}

/** Reads the options; throws one clear line on a bad value. */
export function benchOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const onlyRaw = (env['BENCH_ONLY'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const f of onlyRaw) {
    if (!(FIGURES as readonly string[]).includes(f)) throw new Error(`BENCH_ONLY: unknown figure '${f}' (${FIGURES.join(', ')})`);
  }
  return {
    minutes: positive(env, 'BENCH_MINUTES', 10),
    reps: Math.round(positive(env, 'BENCH_REPS', 5)),
    idleSeconds: positive(env, 'BENCH_IDLE_SECONDS', 60),
    clusterClasses: Math.round(positive(env, 'BENCH_CLUSTER_CLASSES', 50)),
    clusterSeconds: Math.round(positive(env, 'BENCH_CLUSTER_SECONDS', 220)),
    only: new Set((onlyRaw.length > 0 ? onlyRaw : FIGURES) as FigureId[]),
  };
}
