/**
 * iTop's weekly schedule (AbstractWeeklyScheduledProcess), used by BackupExec and by extension
 * tasks: module settings `enabled`, `week_days` and `time` → the next run as iTop-local 'Y-m-d H:i:s'.
 * Its quirks are kept on purpose: the string 'false' enables, `time` is compared to 'H:i'
 * as a string (so '02:30:00' is still "ahead" during 02:30), its seconds are ignored, '29:59' overflows
 * into the next day, and a time in a DST gap moves forward by the gap.
 */

import { phpBool, phpInt, phpString, phpTrim } from '../config/php.js';
import type { PhpValue } from '../config/types.js';
import { ProcessInvalidConfigError } from '../errors.js';
import { formatLocal, offsetAt, resolveWall, wallOf, wallParts, wallMs } from '../time/zone.js';
import { PARKED_NEXT_RUN } from './nextRun.js';

/** Default of the `week_days` setting: every day. */
export const DEFAULT_WEEK_DAYS = 'monday, tuesday, wednesday, thursday, friday, saturday, sunday';

const DAY_NUMBERS: Readonly<Record<string, number>> = {
  monday: 1,
  tuesday: 2,
  wednesday: 3,
  thursday: 4,
  friday: 5,
  saturday: 6,
  sunday: 7,
};

const TIME_PATTERN = /[0-2]\d:[0-5]\d/; // unanchored, as iTop checks it
const DAY_MS = 86_400_000;

/**
 * `week_days` → ISO day numbers (1 = Monday … 7 = Sunday), de-duplicated and sorted. Items are split on
 * ',', trimmed and lower-cased; an unknown item (including the empty one left by 'monday,') and an empty
 * setting throw ProcessInvalidConfigError with iTop's messages.
 */
export function interpretWeekDays(module: string, value: string): number[] {
  const days = new Set<number>();
  if (value !== '') {
    for (const raw of value.split(',')) {
      // strtolower() is ASCII-only since PHP 8.2.
      const item = phpTrim(raw).replace(/[A-Z]/g, (c) => c.toLowerCase());
      const day = Object.hasOwn(DAY_NUMBERS, item) ? DAY_NUMBERS[item] : undefined;
      if (day === undefined) {
        throw new ProcessInvalidConfigError(`${module}: wrong format for setting 'week_days' (found '${item}')`);
      }
      days.add(day);
    }
  }
  if (days.size === 0) throw new ProcessInvalidConfigError(`${module}: missing setting 'week_days'`);
  return [...days].sort((a, b) => a - b);
}

/** Options of weeklyNextOccurrence: the raw module settings (defaults already applied) and now. */
export interface WeeklyOptions {
  readonly module: string;
  /** `enabled`, tested with PHP's (bool): the string 'false' enables. */
  readonly enabled: unknown;
  /** `week_days`, e.g. DEFAULT_WEEK_DAYS. */
  readonly weekDays: unknown;
  /** `time`, e.g. '23:30'. */
  readonly time: unknown;
  readonly nowMs: number;
  readonly tz: string;
}

/** Days to add to today: the first configured day still ahead this week, else the first one next week. */
function daysAhead(days: readonly number[], weekday: number, hhmm: string, time: string): number {
  for (let d = weekday; d <= 7; d++) {
    if (days.includes(d) && (d > weekday || hhmm < time)) return d - weekday;
  }
  return (days[0] ?? weekday) - weekday + 7;
}

/**
 * The next run of a weekly-scheduled task, 'Y-m-d H:i:s' in `tz`, or PARKED_NEXT_RUN when disabled.
 * Throws ProcessInvalidConfigError on a bad `week_days` or `time`.
 */
export function weeklyNextOccurrence(opts: WeeklyOptions): string {
  // Settings come from config-itop.php, so they are PHP values; phpString also trims, as iTop does.
  if (!phpBool(opts.enabled as PhpValue)) return PARKED_NEXT_RUN;
  const days = interpretWeekDays(opts.module, phpString(opts.weekDays as PhpValue));
  const time = phpString(opts.time as PhpValue);
  if (!TIME_PATTERN.test(time)) {
    throw new ProcessInvalidConfigError(`${opts.module}: wrong format for setting 'time' (found '${time}')`);
  }
  const [hours = '', minutes = ''] = time.split(':');

  const nowWall = wallOf(opts.nowMs, opts.tz);
  const now = wallParts(nowWall);
  const hhmm = `${String(now.hour).padStart(2, '0')}:${String(now.minute).padStart(2, '0')}`;
  const shift = daysAhead(days, now.isoWeekday, hhmm, time);

  // As PHP: move the DateTime by whole days (wall clock), then setTime(h, m) on the day it landed on.
  const moved = resolveWall(nowWall + shift * DAY_MS, opts.tz, offsetAt(opts.nowMs, opts.tz));
  const day = wallParts(wallOf(moved, opts.tz));
  const target = wallMs(day.year, day.month, day.day, phpInt(hours), phpInt(minutes), 0);
  return formatLocal(resolveWall(target, opts.tz, offsetAt(moved, opts.tz)), opts.tz);
}
