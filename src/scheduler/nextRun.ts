/**
 * cron.php's drift-free `next_run_date` for periodic tasks: planned + P, then + P again
 * while that is strictly before now (unix seconds); a result equal to now is kept. Missed occurrences are
 * skipped, not replayed.
 *
 * PHP steps with `DateTime::modify('+P seconds')`, which is wall-clock arithmetic re-resolved in the zone: a daily task keeps its wall time across a DST change, and a step that crosses a
 * transition gains or loses the hour. Between two transitions wall and elapsed arithmetic agree, so this
 * module jumps over whole runs of periods at once and replays PHP's exact step only at transitions: the
 * cost grows with the number of DST changes during the downtime, not with the number of periods.
 */

import { formatWall, offsetAt, parseLocal, resolveWall, wallOf } from '../time/zone.js';

/** The date that parks a task: never due, re-evaluated at each start. */
export const PARKED_NEXT_RUN = '3000-01-01 00:00:00';

const SECOND = 1000;
const DAY = 86_400 * SECOND;

/** A PHP DateTime, reduced to what matters here: its instant and its wall time (both ms). */
interface Point {
  readonly t: number;
  readonly wall: number;
}

/** PHP's `modify('+P seconds')`: add to the wall time, resolve it keeping the current offset if valid. */
function phpAddSeconds(p: Point, stepMs: number, tz: string): Point {
  const t = resolveWall(p.wall + stepMs, tz, p.wall - p.t);
  return { t, wall: wallOf(t, tz) };
}

/**
 * First whole-second instant in (from, to] whose UTC offset differs from the one at `from`, if any.
 * Samples daily, then bisects: zones never change offset twice within a day.
 */
function nextTransition(from: number, to: number, tz: string): number | undefined {
  const base = offsetAt(from, tz);
  for (let lo = from; lo < to; ) {
    let hi = Math.min(lo + DAY, to);
    if (offsetAt(hi, tz) !== base) {
      while (hi - lo > SECOND) {
        const mid = lo + Math.floor((hi - lo) / (2 * SECOND)) * SECOND;
        if (offsetAt(mid, tz) === base) lo = mid;
        else hi = mid;
      }
      return hi;
    }
    lo = hi;
  }
  return undefined;
}

/**
 * One catch-up move from a point still before `nowFloor`: straight to the first slot ≥ now when no
 * transition lies in between, else to the last slot before the transition and one PHP step across it.
 */
function catchUp(p: Point, stepMs: number, nowFloor: number, tz: string): Point {
  const steps = Math.ceil((nowFloor - p.t) / stepMs);
  const target = p.t + steps * stepMs;
  const transition = nextTransition(p.t, target, tz);
  if (transition === undefined) return { t: target, wall: p.wall + steps * stepMs };
  const linear = Math.ceil((transition - p.t) / stepMs) - 1;
  const before = { t: p.t + linear * stepMs, wall: p.wall + linear * stepMs };
  const after = phpAddSeconds(before, stepMs, tz);
  // A step always moves forward in real zones; should odd zone data say otherwise, never loop forever.
  return after.t > before.t ? after : { t: before.t + stepMs, wall: wallOf(before.t + stepMs, tz) };
}

/** P as PHP would use it: whole seconds, and at least 1 so that the computation always ends. */
function sanePeriod(periodSeconds: number): number {
  return Number.isFinite(periodSeconds) && periodSeconds >= 1 ? Math.floor(periodSeconds) : 1;
}

/**
 * The next `next_run_date` ('Y-m-d H:i:s' in `tz`) of a periodic task whose run was planned at
 * `plannedLocal` (NULL counts as now), for period `periodSeconds` (≤ 0 counts as 1), computed at `nowMs`.
 */
export function nextPeriodicRun(plannedLocal: string | null, periodSeconds: number, nowMs: number, tz: string): string {
  const stepMs = sanePeriod(periodSeconds) * SECOND;
  const nowFloor = Math.floor(nowMs / SECOND) * SECOND;
  const start = plannedLocal === null ? nowFloor : parseLocal(plannedLocal, tz);
  let p = phpAddSeconds({ t: start, wall: wallOf(start, tz) }, stepMs, tz);
  while (p.t < nowFloor) p = catchUp(p, stepMs, nowFloor, tz);
  return formatWall(p.wall);
}
