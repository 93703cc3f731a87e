/**
 * When the next pass of the cron loop starts. cron.php sleeps `cron_sleep` seconds after each pass, so a task waits for that sleep plus every pass's own duration, plus up to a second
 * more because `next_run_date` has whole seconds and a pass rarely starts on one: 1-second tasks started
 * up to 3.5 s after their `next_run_date` with the default cron_sleep of 2 (bench/RESULTS.md). Here passes
 * start every `cron_sleep` seconds counted from the previous pass's start, just after a whole second, so a
 * due task starts at most `cron_sleep` seconds (usually one) after its `next_run_date`, plus the work of the
 * tasks before it in the pass. The number of passes, and so of idle statements, stays one per cron_sleep.
 */

/** How far past the whole second a pass starts: enough for `next_run_date <= now` to hold for that second. */
export const PASS_MARGIN_MS = 10;

/**
 * Seconds to sleep after a pass that started at `passStartMs`, at `nowMs`: until `sleepSeconds` after the
 * pass's start, put on the nearest whole second plus PASS_MARGIN_MS (nearest, not next: a pass starts a
 * few ms after its planned instant, since timers fire late, and rounding up would slip a second every
 * pass). A pass that took longer than that is followed at the next whole second. With cron_sleep 0 the
 * passes come once a second instead of back to back.
 */
export function sleepAfterPass(passStartMs: number, nowMs: number, sleepSeconds: number): number {
  const onSecond = (ms: number, round: (x: number) => number): number =>
    round((ms - PASS_MARGIN_MS) / 1000) * 1000 + PASS_MARGIN_MS;
  let next = onSecond(passStartMs + sleepSeconds * 1000, Math.round);
  if (next < nowMs) next = onSecond(nowMs, Math.ceil);
  return (next - nowMs) / 1000;
}
