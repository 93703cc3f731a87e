/**
 * Keeps the resident memory of a long cron run flat. The young generation is kept small (bin/itop-cron.js),
 * so the short-lived objects of busy passes (mail building, result rows) soon reach the old generation,
 * which V8 collects only once it has grown by about half: it then holds 6 to 8 MiB of garbage most of the
 * time, and a 10-minute run with steady work peaked at 85 MiB (bench/RESULTS.md). A full collection once
 * the used heap has grown by GROWTH_BYTES (2 MiB) since the previous one, at most every MIN_INTERVAL_MS, costs a
 * few ms and keeps the peak near 76 MiB. An idle runner allocates so little that it rarely collects.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

const GROWTH_BYTES = 2 * 1024 * 1024;
const MIN_INTERVAL_MS = 10_000;

/** Checked after each pass of the loop; collects when the heap has grown enough. */
export interface HeapTrimmer {
  afterPass(): void;
}

/**
 * V8's full collection: `gc` when node runs with --expose-gc, else the same function taken from a fresh
 * context once the flag is set (a context created after the flag gets it). Null when unavailable.
 */
function fullCollection(): (() => void) | null {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as () => void;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/** A trimmer for one cron run; `now` is for tests. */
export function createHeapTrimmer(now: () => number = Date.now): HeapTrimmer {
  let collect: (() => void) | null | undefined;
  let base = v8.getHeapStatistics().used_heap_size;
  let last = now();
  return {
    afterPass() {
      const used = v8.getHeapStatistics().used_heap_size;
      if (used - base < GROWTH_BYTES || now() - last < MIN_INTERVAL_MS) return;
      collect ??= fullCollection();
      if (collect === null) return;
      collect();
      base = v8.getHeapStatistics().used_heap_size;
      last = now();
    },
  };
}
