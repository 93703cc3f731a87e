import { formatLocal, isValidTimeZone, parseLocal } from './zone.js';

/** "Now" in iTop's time zone: what cron.php gets from time() and date('Y-m-d H:i:s'). */
export interface Clock {
  readonly timezone: string;
  /** Epoch ms now. */
  nowMs(): number;
  /** Unix seconds now (cron.php's time()). */
  nowUnix(): number;
  /** 'Y-m-d H:i:s' now in the zone. */
  nowLocal(): string;
  /** Epoch ms → 'Y-m-d H:i:s' in the zone. */
  format(ms: number): string;
  /** 'Y-m-d H:i:s' (or 'Y-m-d') in the zone → epoch ms. */
  parse(local: string): number;
}

/**
 * A clock for `timezone` (an IANA name; throws RangeError if unknown). `now` lets tests pin the time;
 * production leaves it to Date.now.
 */
export function createClock(timezone: string, now: () => number = Date.now): Clock {
  if (!isValidTimeZone(timezone)) throw new RangeError(`Unknown time zone '${timezone}'`);
  return Object.freeze({
    timezone,
    nowMs: () => now(),
    nowUnix: () => Math.floor(now() / 1000),
    nowLocal: () => formatLocal(now(), timezone),
    format: (ms: number) => formatLocal(ms, timezone),
    parse: (local: string) => parseLocal(local, timezone),
  });
}

/**
 * `clock.parse`, or undefined for what is not a date: a zero date (`0000-00-00 00:00:00`, which a
 * permissive sql_mode stores) or any other value a damaged row holds. For readers that must not fail.
 */
export function parseOrUndefined(clock: Pick<Clock, 'parse'>, local: string | null | undefined): number | undefined {
  if (local === null || local === undefined) return undefined;
  try {
    return clock.parse(local);
  } catch {
    return undefined;
  }
}
