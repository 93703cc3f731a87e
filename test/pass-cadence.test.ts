/**
 * The cron loop's cadence (src/scheduler/cadence.ts): passes start cron_sleep seconds after the previous
 * pass's start, just past a whole second. Pure arithmetic on given instants; no timing.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { PASS_MARGIN_MS, sleepAfterPass } from '../src/scheduler/cadence.js';

const at = (s: number): number => 1_700_000_000_000 + s * 1000;

test('an aligned short pass sleeps until cron_sleep after its start, on the same phase', () => {
  const start = at(10) + PASS_MARGIN_MS;
  assert.equal(sleepAfterPass(start, start + 300, 2), 1.7);
  // The next pass starts exactly 2 s after this one: the cadence keeps its phase.
  assert.equal(start + 300 + 1.7 * 1000, start + 2000);
});

test('a pass started a few ms late keeps the phase (no slip of a second per pass)', () => {
  const start = at(10) + PASS_MARGIN_MS + 7;
  const next = start + 250 + sleepAfterPass(start, start + 250, 2) * 1000;
  assert.equal(next, at(12) + PASS_MARGIN_MS);
});

test('an unaligned pass puts the next one on the nearest whole second', () => {
  const early = at(10) + 300;
  assert.equal(early + 50 + sleepAfterPass(early, early + 50, 2) * 1000, at(12) + PASS_MARGIN_MS);
  const late = at(10) + 700;
  assert.equal(late + 50 + sleepAfterPass(late, late + 50, 2) * 1000, at(13) + PASS_MARGIN_MS);
});

test('a pass longer than cron_sleep is followed at the next whole second, never at once in the past', () => {
  const start = at(10) + PASS_MARGIN_MS;
  const now = at(15) + 400;
  assert.equal(now + sleepAfterPass(start, now, 2) * 1000, at(16) + PASS_MARGIN_MS);
});

test('cron_sleep 0 gives one pass a second instead of a busy loop', () => {
  const start = at(10) + PASS_MARGIN_MS;
  assert.equal(start + 5 + sleepAfterPass(start, start + 5, 0) * 1000, at(11) + PASS_MARGIN_MS);
});

test('the sleep is never negative', () => {
  const start = at(10);
  assert.ok(sleepAfterPass(start, at(10) + PASS_MARGIN_MS, 0) >= 0);
  assert.equal(sleepAfterPass(start, at(11) + PASS_MARGIN_MS, 1), 0);
});
