/**
 * Wall-clock time in an IANA zone, without a date library: Intl.DateTimeFormat gives the wall time of an
 * instant, and Date.UTC arithmetic on "wall milliseconds" (the wall fields read as if they were UTC) does
 * the calendar work. Every DATETIME iTop stores is such a naive wall time in its `timezone`.
 *
 * Resolving a wall time to an instant follows PHP's timelib, because iTop computes its dates with
 * PHP's DateTime:
 * - a wall time in a DST gap is shifted forward by the gap (02:30 on 2025-03-30 in Paris → 03:30 CEST);
 * - a wall time in the repeated hour, parsed from a string, takes the offset in force at the wall time
 *   read as a UTC instant: the second (standard-time) occurrence east of Greenwich (Paris: 02:30 CET),
 *   the first (summer-time) one west of it (New York: 01:30 EDT);
 * - a wall time reached by arithmetic on an existing DateTime keeps that DateTime's offset when it is
 *   valid (`preferOffsetMs`), so a chain of `modify('+10 seconds')` in summer time stays in summer time
 *   through the repeated hour.
 */

const SECOND = 1000;

/** One formatter per zone: building an Intl.DateTimeFormat costs far more than using one. */
const formatters = new Map<string, Intl.DateTimeFormat>();

// en-US with h23 prints "10/26/2025, 02:00:00"; format() is ~4x faster than formatToParts().
const EN_US_WALL = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/;
const LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$/;

/** Wall fields of an instant in a zone; isoWeekday is 1 = Monday … 7 = Sunday. */
export interface LocalParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly isoWeekday: number;
}

function formatterFor(tz: string): Intl.DateTimeFormat {
  let formatter = formatters.get(tz);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, formatter);
  }
  return formatter;
}

/**
 * Wall fields → "wall milliseconds" (the fields read as UTC). Out-of-range fields (day 32, hour 29,
 * second -1) carry over as in Date.UTC; unlike Date.UTC, years 0–99 are not mapped to 19xx.
 */
export function wallMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

/** Wall fields of wall milliseconds. */
export function wallParts(wall: number): LocalParts {
  const date = new Date(wall);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    isoWeekday: date.getUTCDay() === 0 ? 7 : date.getUTCDay(),
  };
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Wall milliseconds → 'Y-m-d H:i:s' (PHP's Y pads the year to at least 4 digits). */
export function formatWall(wall: number): string {
  const p = wallParts(wall);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

/** The zone adoptZone() made the process's local time zone, if any. */
let processZone: string | undefined;

/**
 * Makes `tz` the process's local time zone (TZ), as cron.php's bootstrap makes iTop's `timezone` PHP's
 * default: wall times in it are then read with Date's local getters (ICU's zone rules, the same as
 * Intl's) instead of an Intl.DateTimeFormat, whose locale data costs ~8 MiB of RSS and ~15 ms to build
 * (bench/RESULTS.md). `tz` must be canonical (canonicalTimeZone(): ICU takes TZ as a zone ID). Child
 * processes inherit TZ; PHP ignores it (iTop sets its own zone) and mysqldump dumps in UTC.
 */
export function adoptZone(tz: string): void {
  process.env['TZ'] = tz;
  processZone = tz;
}

/** The wall time of an instant in `tz`, as wall milliseconds (whole seconds; sub-second part dropped). */
export function wallOf(ms: number, tz: string): number {
  if (tz === processZone) {
    const d = new Date(ms);
    return wallMs(d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds());
  }
  const formatter = formatterFor(tz);
  const m = EN_US_WALL.exec(formatter.format(ms));
  if (m !== null) {
    return wallMs(Number(m[3]), Number(m[1]), Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  // An ICU that formats differently: fall back to the slower, structured form.
  const fields: Record<string, number> = {};
  for (const part of formatter.formatToParts(ms)) fields[part.type] = Number(part.value);
  return wallMs(fields['year'] ?? NaN, fields['month'] ?? NaN, fields['day'] ?? NaN, fields['hour'] ?? NaN, fields['minute'] ?? NaN, fields['second'] ?? NaN);
}

/** UTC offset (ms, wall − UTC) in force at an instant. */
export function offsetAt(ms: number, tz: string): number {
  const whole = Math.floor(ms / SECOND) * SECOND;
  return wallOf(whole, tz) - whole;
}

/**
 * Wall milliseconds → instant, as PHP resolves a wall time (see the module comment). `preferOffsetMs`
 * is the offset of the DateTime the wall time was computed from, when there is one.
 */
export function resolveWall(wall: number, tz: string, preferOffsetMs?: number): number {
  if (preferOffsetMs !== undefined && offsetAt(wall - preferOffsetMs, tz) === preferOffsetMs) {
    return wall - preferOffsetMs;
  }
  // PHP: the offset in force at the wall time read as an instant, else the offset found there.
  const o1 = offsetAt(wall, tz);
  const o2 = offsetAt(wall - o1, tz);
  if (o2 === o1) return wall - o1;
  if (offsetAt(wall - o2, tz) === o2) return wall - o2;
  // Neither interpretation exists: a gap. Reading the wall time with the offset from before the
  // jump lands after it, shifted forward by the gap's length.
  return wall - Math.min(o1, o2);
}

/** Epoch milliseconds → 'Y-m-d H:i:s' in `tz` (24 h, zero-padded). */
export function formatLocal(ms: number, tz: string): string {
  return formatWall(wallOf(ms, tz));
}

/** Epoch milliseconds → 'Y-m-d' in `tz`. */
export function formatLocalDate(ms: number, tz: string): string {
  return formatLocal(ms, tz).slice(0, 10);
}

/** The wall fields of an instant in `tz`. */
export function localParts(ms: number, tz: string): LocalParts {
  return wallParts(wallOf(ms, tz));
}

/**
 * Wall time in `tz` → epoch milliseconds, as PHP's `new DateTime('Y-m-d H:i:s')` does: out-of-range
 * fields are normalised first, a time in a DST gap moves forward by the gap, and a time in the repeated
 * hour takes PHP's choice (see the module comment; pass `preferOffsetMs` to keep a known offset).
 */
export function localToEpoch(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  tz: string,
  preferOffsetMs?: number,
): number {
  return resolveWall(wallMs(year, month, day, hour, minute, second), tz, preferOffsetMs);
}

/**
 * 'Y-m-d H:i:s' or 'Y-m-d' (midnight) in `tz` → epoch milliseconds. Throws on any other shape and on
 * fields PHP's parser rejects (month 13, day 32, minute 60); PHP's accepted overflows (Feb 30, hour 24,
 * second 60) carry over.
 */
export function parseLocal(s: string, tz: string): number {
  const m = LOCAL_DATETIME.exec(s);
  if (m === null) throw new RangeError(`Not a 'Y-m-d H:i:s' date: '${s}'`);
  const [year, month, day, hour, minute, second] = m.slice(1).map((f) => (f === undefined ? 0 : Number(f))) as [
    number, number, number, number, number, number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60) {
    throw new RangeError(`Invalid date: '${s}'`);
  }
  return localToEpoch(year, month, day, hour, minute, second, tz);
}

/** ICU's canonical zone names, listed once (cheap: no formatter, no locale data). */
let canonicalZones: ReadonlySet<string> | undefined;

/**
 * The canonical name of `tz` (`utc` → `UTC`, `US/Eastern` → `America/New_York`), or undefined when this
 * runtime does not know it. Canonical names are answered from ICU's list: building a formatter loads
 * about 8 MiB of ICU data and takes 40 ms or more, which `--status_only` (no date arithmetic) must not
 * pay. Aliases and odd spellings still go through a formatter, which canonicalises them.
 */
export function canonicalTimeZone(tz: string): string | undefined {
  if (tz === '') return undefined;
  if (tz === 'UTC') return tz;
  canonicalZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (canonicalZones.has(tz)) return tz;
  try {
    return formatterFor(tz).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** True when `tz` is an IANA zone name this runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  return canonicalTimeZone(tz) !== undefined;
}
