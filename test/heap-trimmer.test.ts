/**
 * The cron loop's heap trimmer (src/scheduler/memory.ts): a full collection once the heap has grown by
 * 2 MiB, not more often than every 10 s. The clock is injected; no timing is asserted.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import v8 from 'node:v8';
import { createHeapTrimmer } from '../src/scheduler/memory.js';

const used = (): number => v8.getHeapStatistics().used_heap_size;

/** About 8 MiB of small objects, dropped by the caller. */
function garbage(): unknown[] {
  return Array.from({ length: 200_000 }, (_, i) => ({ i, s: `item ${i}`.repeat(2) }));
}

test('the heap is collected once it has grown, and not again within 10 s', () => {
  let t = 0;
  const trimmer = createHeapTrimmer(() => t);
  let junk: unknown[] | undefined = garbage();
  assert.ok(junk.length > 0);
  junk = undefined;
  t = 5_000;
  const before = used();
  trimmer.afterPass(); // too soon: nothing
  assert.ok(used() >= before - 1024 * 1024, 'no collection within 10 s of the start');
  t = 20_000;
  trimmer.afterPass();
  assert.ok(used() < before - 2 * 1024 * 1024, `collected: ${before} -> ${used()}`);
});
