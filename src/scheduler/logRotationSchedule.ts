/**
 * LogFileRotationProcess's calendar: when the task runs next, and the suffix a rotated log
 * file gets, per the `log_filename_builder_impl` setting. iTop's builders:
 * DailyRotatingLogFileNameBuilder, WeeklyRotatingLogFileNameBuilder, MonthlyRotatingLogFileNameBuilder
 * (the default) and DefaultLogFileNameBuilder (no rotation). Anything else is not a rotating builder.
 */

import { formatLocal, formatLocalDate, localParts, localToEpoch } from '../time/zone.js';
import { PARKED_NEXT_RUN } from './nextRun.js';

/** iTop's default `log_filename_builder_impl`. */
export const DEFAULT_LOG_FILENAME_BUILDER = 'MonthlyRotatingLogFileNameBuilder';

type Rotation = 'daily' | 'weekly' | 'monthly';

// PHP class names are case-insensitive, hence the lower-case keys.
const ROTATIONS: Readonly<Record<string, Rotation>> = {
  dailyrotatinglogfilenamebuilder: 'daily',
  weeklyrotatinglogfilenamebuilder: 'weekly',
  monthlyrotatinglogfilenamebuilder: 'monthly',
};

function rotationOf(builder: string): Rotation | undefined {
  const key = builder.trim().replace(/^\\/, '').toLowerCase();
  return Object.hasOwn(ROTATIONS, key) ? ROTATIONS[key] : undefined;
}

/** True for the three rotating builders (any letter case, optional leading backslash). */
export function isRotatingBuilder(builder: string): boolean {
  return rotationOf(builder) !== undefined;
}

/**
 * The next run of LogFileRotationProcess, 'Y-m-d H:i:s' in `tz`: tomorrow midnight (daily), Monday of
 * next ISO week at midnight (weekly), the first of next month at midnight (monthly); PARKED_NEXT_RUN for
 * a non-rotating or unknown builder. A midnight inside a DST gap moves forward as in PHP.
 */
export function logRotationNextOccurrence(builder: string, nowMs: number, tz: string): string {
  const rotation = rotationOf(builder);
  if (rotation === undefined) return PARKED_NEXT_RUN;
  const now = localParts(nowMs, tz);
  // Out-of-range days and months carry over (localToEpoch normalises them).
  const [month, day] =
    rotation === 'daily'
      ? [now.month, now.day + 1]
      : rotation === 'weekly'
        ? [now.month, now.day - now.isoWeekday + 8]
        : [now.month + 1, 1];
  return formatLocal(localToEpoch(now.year, month, day, 0, 0, 0, tz), tz);
}

/** ISO-8601 week-numbering year and week (PHP's 'o' and 'W') of a calendar date. */
export function isoWeekOf(year: number, month: number, day: number): { isoYear: number; isoWeek: number } {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const weekday = date.getUTCDay() === 0 ? 7 : date.getUTCDay();
  // The Thursday of the same ISO week decides the year; weeks are counted from that year's first one.
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const isoYear = date.getUTCFullYear();
  const jan1 = new Date(0);
  jan1.setUTCFullYear(isoYear, 0, 1);
  const isoWeek = Math.floor((date.getTime() - jan1.getTime()) / (7 * 86_400_000)) + 1;
  return { isoYear, isoWeek };
}

/**
 * The suffix of a rotated log file whose mtime is `mtimeMs`, as iTop formats it in `tz`: daily 'Y-m-d',
 * weekly 'o-\weekW' (e.g. '2024-week43'), monthly 'o-\monthm' (e.g. '2024-month10'). The monthly form
 * takes the ISO year, so late-December and early-January files can get the wrong year.
 * Undefined for a non-rotating builder. A file is due for rotation when its suffix differs from now's.
 */
export function logRotationSuffix(builder: string, mtimeMs: number, tz: string): string | undefined {
  const rotation = rotationOf(builder);
  if (rotation === undefined) return undefined;
  if (rotation === 'daily') return formatLocalDate(mtimeMs, tz);
  const p = localParts(mtimeMs, tz);
  const { isoYear, isoWeek } = isoWeekOf(p.year, p.month, p.day);
  const n = rotation === 'weekly' ? isoWeek : p.month;
  return `${isoYear}-${rotation === 'weekly' ? 'week' : 'month'}${String(n).padStart(2, '0')}`;
}
