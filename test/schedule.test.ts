import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessInvalidConfigError } from '../src/errors.js';
import {
  DEFAULT_LOG_FILENAME_BUILDER,
  isoWeekOf,
  isRotatingBuilder,
  logRotationNextOccurrence,
  logRotationSuffix,
} from '../src/scheduler/logRotationSchedule.js';
import { nextPeriodicRun, PARKED_NEXT_RUN } from '../src/scheduler/nextRun.js';
import { DEFAULT_WEEK_DAYS, interpretWeekDays, weeklyNextOccurrence } from '../src/scheduler/weekly.js';
import { formatLocal, formatWall, offsetAt, parseLocal, resolveWall, wallOf } from '../src/time/zone.js';

const PARIS = 'Europe/Paris';
const NY = 'America/New_York';
const SYDNEY = 'Australia/Sydney';
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number => Date.UTC(y, mo - 1, d, h, mi, s);

/**
 * The oracle: cron.php's loop as written, one DateTime::modify('+P seconds') at a time (wall-clock
 * arithmetic, re-resolved keeping the current offset when valid), while the result is before now.
 */
function slowNextRun(planned: string, periodSeconds: number, nowMs: number, tz: string): string {
  const nowFloor = Math.floor(nowMs / 1000) * 1000;
  let t = parseLocal(planned, tz);
  let wall = wallOf(t, tz);
  do {
    t = resolveWall(wall + periodSeconds * 1000, tz, wall - t);
    wall = wallOf(t, tz);
  } while (t < nowFloor);
  return formatWall(wall);
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// ---------------------------------------------------------------- nextPeriodicRun

test('nextPeriodicRun: the verified example (planned 00:13:27, run at 00:14:47, P=10 → 00:14:47)', () => {
  for (const tz of [PARIS, 'UTC']) {
    const now = parseLocal('2026-11-24 00:14:47', tz);
    assert.equal(nextPeriodicRun('2026-11-24 00:13:27', 10, now, tz), '2026-11-24 00:14:47');
    assert.equal(nextPeriodicRun('2026-11-24 00:13:27', 10, now + 999, tz), '2026-11-24 00:14:47'); // whole seconds
    assert.equal(nextPeriodicRun('2026-11-24 00:13:27', 10, now + 1000, tz), '2026-11-24 00:14:57');
    assert.equal(nextPeriodicRun('2026-11-24 00:13:27', 10, now, tz), slowNextRun('2026-11-24 00:13:27', 10, now, tz));
  }
});

test('nextPeriodicRun: planned + P when that is not in the past, a slot equal to now is kept', () => {
  const now = parseLocal('2026-11-24 00:12:28', PARIS);
  assert.equal(nextPeriodicRun('2026-11-24 00:12:27', 10, now, PARIS), '2026-11-24 00:12:37');
  assert.equal(nextPeriodicRun('2026-11-24 00:12:27', 1, now, PARIS), '2026-11-24 00:12:28'); // InlineImageGC
  assert.equal(nextPeriodicRun('2026-11-24 00:20:00', 2, now, PARIS), '2026-11-24 00:20:02'); // ahead of now
  assert.equal(nextPeriodicRun(PARKED_NEXT_RUN, 60, now, PARIS), '3000-01-01 00:01:00');
});

test('nextPeriodicRun: NULL planned counts as now; a period <= 0 counts as 1', () => {
  const now = parseLocal('2026-11-24 00:12:28', PARIS) + 300;
  assert.equal(nextPeriodicRun(null, 10, now, PARIS), '2026-11-24 00:12:38');
  assert.equal(nextPeriodicRun('2026-11-24 00:12:00', 0, now, PARIS), '2026-11-24 00:12:28');
  assert.equal(nextPeriodicRun('2026-11-24 00:12:00', -5, now, PARIS), '2026-11-24 00:12:28');
  assert.equal(nextPeriodicRun('2026-11-24 00:12:00', Number.NaN, now, PARIS), '2026-11-24 00:12:28');
  assert.equal(nextPeriodicRun('2026-11-24 00:12:28', 0, now, PARIS), '2026-11-24 00:12:29');
});

test('nextPeriodicRun: bounded catch-up, a 30-day gap with P=1 and 10 years with P=7', { timeout: 10_000 }, () => {
  // A loop would take millions of steps here; the arithmetic takes a handful.
  const now = parseLocal('2025-05-31 12:00:00', PARIS) + 500;
  assert.equal(nextPeriodicRun('2025-05-01 12:00:00', 1, now, PARIS), '2025-05-31 12:00:00');
  assert.equal(nextPeriodicRun('2025-05-01 12:00:00', 1, now, PARIS), slowNextRun('2025-05-31 11:59:00', 1, now, PARIS));
  // Ten years in Paris: each autumn step gains the repeated hour (wall-clock arithmetic), so the phase
  // is planned + 10 × 3600 s + k × 7 s in elapsed time.
  const planned = parseLocal('2015-06-01 12:00:00', PARIS);
  const later = parseLocal('2025-06-01 12:34:56', PARIS);
  const k = Math.ceil((later - planned - 36_000_000) / 7000);
  assert.equal(nextPeriodicRun('2015-06-01 12:00:00', 7, later, PARIS), formatLocal(planned + 36_000_000 + k * 7000, PARIS));
  const plannedUtc = utc(2015, 6, 1, 12);
  const expectedUtc = plannedUtc + Math.ceil((later - plannedUtc) / 7000) * 7000;
  assert.equal(nextPeriodicRun('2015-06-01 12:00:00', 7, later, 'UTC'), formatLocal(expectedUtc, 'UTC'));
});

test('nextPeriodicRun: steps are wall-clock arithmetic across DST, as DateTime::modify', () => {
  // Daily tasks keep their wall time across both transitions.
  assert.equal(nextPeriodicRun('2025-03-29 10:00:00', 86_400, parseLocal('2025-03-30 09:00:00', PARIS), PARIS), '2025-03-30 10:00:00');
  assert.equal(nextPeriodicRun('2025-10-25 10:00:00', 86_400, parseLocal('2025-10-26 09:00:00', PARIS), PARIS), '2025-10-26 10:00:00');
  assert.equal(nextPeriodicRun('2025-03-20 10:00:00', 86_400, parseLocal('2025-04-05 12:00:00', PARIS), PARIS), '2025-04-06 10:00:00');
  // Spring: a step landing in the gap moves forward by it (02:00:05 → 03:00:05)...
  assert.equal(nextPeriodicRun('2025-03-30 01:59:55', 10, utc(2025, 3, 30, 1, 0, 3), PARIS), '2025-03-30 03:00:05');
  // ... and a 90-minute step over it lasts 30 minutes (01:30 CET + 1:30 wall = 03:00 CEST).
  assert.equal(nextPeriodicRun('2025-03-30 00:00:00', 5400, utc(2025, 3, 30, 0, 45), PARIS), '2025-03-30 03:00:00');
  assert.equal(nextPeriodicRun('2025-03-30 00:00:00', 5400, utc(2025, 3, 30, 0, 45), 'UTC'), '2025-03-30 01:30:00');
  // Autumn: a summer-time chain goes through the first 02:xx (CEST)...
  assert.equal(nextPeriodicRun('2025-10-26 01:59:55', 10, utc(2025, 10, 26, 0, 0, 30), PARIS), '2025-10-26 02:00:35');
  // ... then jumps from 02:59 CEST to 03:00 CET, skipping the repeated hour.
  assert.equal(nextPeriodicRun('2025-10-26 01:50:00', 60, utc(2025, 10, 26, 1, 0, 2), PARIS), '2025-10-26 03:00:00');
  assert.equal(nextPeriodicRun('2025-10-26 01:00:00', 3600, utc(2025, 10, 26, 1, 30), PARIS), '2025-10-26 03:00:00');
  // A stored 02:xx is read back as CET (PHP's parse), hence an hour ahead of a summer-time now.
  assert.equal(nextPeriodicRun('2025-10-26 02:59:55', 10, utc(2025, 10, 26, 0, 30), PARIS), '2025-10-26 03:00:05');
});

test('nextPeriodicRun equals the step-by-step loop on random cases around DST transitions', () => {
  const transitions: Record<string, number[]> = {
    UTC: [utc(2025, 3, 30, 1), utc(2025, 10, 26, 1)],
    [PARIS]: [utc(2025, 3, 30, 1), utc(2025, 10, 26, 1)],
    [NY]: [utc(2025, 3, 9, 7), utc(2025, 11, 2, 6)],
    [SYDNEY]: [utc(2025, 4, 5, 16), utc(2025, 10, 4, 16)],
  };
  const periods = [1, 7, 10, 60, 600, 3599, 3600, 5400, 7200, 86_400];
  const rnd = random(20251026);
  const zones = Object.keys(transitions);
  for (let i = 0; i < 160; i++) {
    const tz = zones[Math.floor(rnd() * zones.length)] ?? 'UTC';
    const around = transitions[tz]?.[Math.floor(rnd() * 2)] ?? 0;
    const period = periods[Math.floor(rnd() * periods.length)] ?? 1;
    const planned = formatLocal(around - Math.floor(rnd() * 3 * 3600) * 1000, tz);
    const span = Math.min(1500 * period, 4 * 86_400) * 1000;
    const now = parseLocal(planned, tz) + Math.floor(rnd() * span) + Math.floor(rnd() * 1000);
    const label = `${tz} planned=${planned} P=${period} now=${new Date(now).toISOString()}`;
    assert.equal(nextPeriodicRun(planned, period, now, tz), slowNextRun(planned, period, now, tz), label);
  }
});

// ---------------------------------------------------------------- weekly schedule

const MON_FRI = 'monday, tuesday, wednesday, thursday, friday';
const weekly = (weekDays: unknown, time: unknown, nowLocal: string, tz = PARIS, enabled: unknown = true): string =>
  weeklyNextOccurrence({ module: 'itop-backup', enabled, weekDays, time, nowMs: parseLocal(nowLocal, tz), tz });

test('weeklyNextOccurrence: every verified example (Paris and UTC)', () => {
  const rows: [string, string, string, string][] = [
    [MON_FRI, '23:30', '2024-10-21 10:00:00', '2024-10-21 23:30:00'],
    [MON_FRI, '23:30', '2024-10-21 23:30:00', '2024-10-22 23:30:00'], // equal time counts as passed
    [MON_FRI, '23:30', '2024-10-25 23:45:00', '2024-10-28 23:30:00'],
    [MON_FRI, '23:30', '2024-10-26 10:00:00', '2024-10-28 23:30:00'],
    ['sunday', '23:30', '2024-10-27 10:00:00', '2024-10-27 23:30:00'],
    ['sunday', '23:30', '2024-10-27 23:45:00', '2024-11-03 23:30:00'],
    ['wednesday', '08:00', '2024-10-24 09:00:00', '2024-10-30 08:00:00'],
    [' Monday ,SUNDAY', '08:00', '2024-10-27 09:00:00', '2024-10-28 08:00:00'],
    ['monday', '02:30:00', '2024-10-21 02:30:10', '2024-10-21 02:30:00'], // '02:30' < '02:30:00': already past
  ];
  for (const tz of [PARIS, 'UTC']) {
    for (const [days, time, now, expected] of rows) {
      assert.equal(weekly(days, time, now, tz), expected, `${tz} ${days} ${time} ${now}`);
    }
  }
  assert.throws(() => weekly('monday', '7:30', '2024-10-21 10:00:00'), {
    name: 'ProcessInvalidConfigError',
    message: "itop-backup: wrong format for setting 'time' (found '7:30')",
  });
  assert.throws(() => weekly('', '08:00', '2024-10-21 10:00:00'), {
    name: 'ProcessInvalidConfigError',
    message: "itop-backup: missing setting 'week_days'",
  });
  assert.throws(() => weekly('lundi', '08:00', '2024-10-21 10:00:00'), {
    name: 'ProcessInvalidConfigError',
    message: "itop-backup: wrong format for setting 'week_days' (found 'lundi')",
  });
  assert.equal(weekly('monday', '08:00', '2024-10-21 10:00:00', PARIS, false), '3000-01-01 00:00:00');
});

test('weeklyNextOccurrence: DST gap in Paris shifts 02:30 to 03:30, not in UTC', () => {
  assert.equal(weekly('sunday', '02:30', '2025-03-23 10:00:00'), '2025-03-30 03:30:00');
  assert.equal(weekly('sunday', '02:30', '2025-03-23 10:00:00', 'UTC'), '2025-03-30 02:30:00');
  assert.equal(weekly('sunday', '02:30', '2025-03-30 01:00:00'), '2025-03-30 03:30:00'); // today, in the gap
  // The repeated hour keeps its wall time.
  assert.equal(weekly('sunday', '02:30', '2025-10-19 10:00:00'), '2025-10-26 02:30:00');
  assert.equal(weekly('sunday', '02:30', '2025-10-26 01:00:00'), '2025-10-26 02:30:00');
});

test('weeklyNextOccurrence: time quirks (seconds ignored, unanchored pattern, hour overflow, trim)', () => {
  assert.equal(weekly('monday', '23:30:59', '2024-10-21 10:00:00'), '2024-10-21 23:30:00');
  assert.equal(weekly('monday', ' 23:30 ', '2024-10-21 10:00:00'), '2024-10-21 23:30:00');
  assert.equal(weekly('monday', '29:59', '2024-10-21 10:00:00'), '2024-10-22 05:59:00'); // setTime(29, 59)
  assert.equal(weekly('sunday', '29:59', '2024-10-27 10:00:00'), '2024-10-28 05:59:00'); // into next week
  // '9:15:00' passes through its '15:00', then setTime takes the first two parts: 09:15.
  assert.equal(weekly('monday', '9:15:00', '2024-10-21 08:00:00'), '2024-10-21 09:15:00');
  assert.equal(weekly('monday', 'at 23:30', '2024-10-21 08:00:00'), '2024-10-21 00:30:00'); // (int)'at 23' = 0
  assert.throws(() => weekly('monday', '2:30:00', '2024-10-21 10:00:00'), ProcessInvalidConfigError); // no [0-2]d:[0-5]d
  assert.throws(() => weekly('monday', '', '2024-10-21 10:00:00'), { message: "itop-backup: wrong format for setting 'time' (found '')" });
  assert.throws(() => weekly('monday', '3:60', '2024-10-21 10:00:00'), ProcessInvalidConfigError);
  assert.throws(() => weekly('monday', null, '2024-10-21 10:00:00'), ProcessInvalidConfigError);
});

test('weeklyNextOccurrence: enabled uses PHP truthiness', () => {
  const parked = ['0', '', 0, false, null, undefined, [], {}];
  const enabled = ['false', 'no', 'off', '0.0', ' ', 1, true, 'true', ['x']];
  const nowMs = parseLocal('2024-10-21 10:00:00', PARIS);
  for (const value of parked) {
    const next = weeklyNextOccurrence({ module: 'm', enabled: value, weekDays: 'monday', time: '08:00', nowMs, tz: PARIS });
    assert.equal(next, PARKED_NEXT_RUN, JSON.stringify(value));
  }
  for (const value of enabled) {
    assert.equal(weekly('monday', '08:00', '2024-10-21 10:00:00', PARIS, value), '2024-10-28 08:00:00', JSON.stringify(value));
  }
  // Disabled wins over bad settings: they are not even read.
  assert.equal(weekly('lundi', '7:30', '2024-10-21 10:00:00', PARIS, false), PARKED_NEXT_RUN);
});

test('weeklyNextOccurrence: default week days, week wrap, and the first day of next week', () => {
  assert.equal(weekly(DEFAULT_WEEK_DAYS, '23:30', '2024-10-27 23:45:00'), '2024-10-28 23:30:00');
  assert.equal(weekly(MON_FRI, '23:30', '2024-10-27 10:00:00'), '2024-10-28 23:30:00'); // Sunday → Monday
  assert.equal(weekly('friday, tuesday', '06:00', '2024-10-25 07:00:00'), '2024-10-29 06:00:00');
  assert.equal(weekly('friday, tuesday', '06:00', '2024-10-23 07:00:00'), '2024-10-25 06:00:00');
  assert.equal(weekly('friday, tuesday', '06:00', '2024-12-31 07:00:00'), '2025-01-03 06:00:00');
});

test('interpretWeekDays: trims, lower-cases, de-duplicates and sorts; strict about items', () => {
  assert.deepEqual(interpretWeekDays('m', DEFAULT_WEEK_DAYS), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(interpretWeekDays('m', ' Monday ,SUNDAY'), [1, 7]);
  assert.deepEqual(interpretWeekDays('m', 'sunday, monday,sunday,\tFriday\n'), [1, 5, 7]);
  assert.throws(() => interpretWeekDays('m', 'monday,'), { message: "m: wrong format for setting 'week_days' (found '')" });
  assert.throws(() => interpretWeekDays('m', 'mon'), { message: "m: wrong format for setting 'week_days' (found 'mon')" });
  assert.throws(() => interpretWeekDays('m', 'monday;tuesday'), { message: "m: wrong format for setting 'week_days' (found 'monday;tuesday')" });
  assert.throws(() => interpretWeekDays('m', 'constructor'), ProcessInvalidConfigError);
  assert.throws(() => interpretWeekDays('m', ''), { message: "m: missing setting 'week_days'" });
});

// ---------------------------------------------------------------- LogFileRotationProcess

const DAILY = 'DailyRotatingLogFileNameBuilder';
const WEEKLY = 'WeeklyRotatingLogFileNameBuilder';
const MONTHLY = 'MonthlyRotatingLogFileNameBuilder';

test('logRotationNextOccurrence: daily, weekly (Monday next week), monthly (verified 2026-12-01)', () => {
  const next = (builder: string, nowLocal: string, tz = PARIS): string => logRotationNextOccurrence(builder, parseLocal(nowLocal, tz), tz);
  assert.equal(next(MONTHLY, '2026-11-24 00:12:27'), '2026-12-01 00:00:00');
  assert.equal(next(DEFAULT_LOG_FILENAME_BUILDER, '2026-11-24 00:12:27'), '2026-12-01 00:00:00');
  assert.equal(next(MONTHLY, '2025-01-31 12:00:00'), '2025-02-01 00:00:00');
  assert.equal(next(MONTHLY, '2024-12-15 12:00:00'), '2025-01-01 00:00:00');
  assert.equal(next(DAILY, '2026-11-24 00:12:27'), '2026-11-25 00:00:00');
  assert.equal(next(DAILY, '2024-12-31 23:59:59'), '2025-01-01 00:00:00');
  assert.equal(next(DAILY, '2024-02-28 10:00:00'), '2024-02-29 00:00:00');
  assert.equal(next(WEEKLY, '2024-10-23 10:00:00'), '2024-10-28 00:00:00'); // Wednesday
  assert.equal(next(WEEKLY, '2024-10-27 23:00:00'), '2024-10-28 00:00:00'); // Sunday
  assert.equal(next(WEEKLY, '2024-10-28 00:00:00'), '2024-11-04 00:00:00'); // Monday
  assert.equal(next(WEEKLY, '2024-12-30 08:00:00'), '2025-01-06 00:00:00');
  assert.equal(next(DAILY, '2025-03-29 12:00:00'), '2025-03-30 00:00:00'); // DST day itself is fine
  // A midnight that does not exist (Chile springs forward at 00:00) moves to 01:00, as PHP.
  assert.equal(next(DAILY, '2024-09-07 12:00:00', 'America/Santiago'), '2024-09-08 01:00:00');
});

test('logRotationNextOccurrence follows the zone, and parks non-rotating builders', () => {
  const t = utc(2024, 10, 31, 23, 30); // already November 1st in Paris
  assert.equal(logRotationNextOccurrence(DAILY, t, PARIS), '2024-11-02 00:00:00');
  assert.equal(logRotationNextOccurrence(DAILY, t, 'UTC'), '2024-11-01 00:00:00');
  assert.equal(logRotationNextOccurrence(MONTHLY, t, PARIS), '2024-12-01 00:00:00');
  assert.equal(logRotationNextOccurrence(MONTHLY, t, 'UTC'), '2024-11-01 00:00:00');
  for (const builder of ['DefaultLogFileNameBuilder', '', 'Foo', 'RotatingLogFileNameBuilder']) {
    assert.equal(logRotationNextOccurrence(builder, t, PARIS), PARKED_NEXT_RUN, builder);
    assert.equal(isRotatingBuilder(builder), false, builder);
  }
  for (const builder of [DAILY, WEEKLY, MONTHLY, 'dailyrotatinglogfilenamebuilder', '\\WeeklyRotatingLogFileNameBuilder']) {
    assert.equal(isRotatingBuilder(builder), true, builder);
  }
});

test('logRotationSuffix: Y-m-d, o-\\weekW, o-\\monthm with the ISO-year quirk', () => {
  const suffix = (builder: string, local: string, tz = PARIS): string | undefined => logRotationSuffix(builder, parseLocal(local, tz), tz);
  assert.equal(suffix(DAILY, '2024-10-21 10:00:00'), '2024-10-21');
  assert.equal(suffix(WEEKLY, '2024-10-21 10:00:00'), '2024-week43');
  assert.equal(suffix(MONTHLY, '2024-10-21 10:00:00'), '2024-month10');
  assert.equal(suffix(WEEKLY, '2024-01-03 10:00:00'), '2024-week01');
  assert.equal(suffix(WEEKLY, '2024-12-30 10:00:00'), '2025-week01');
  assert.equal(suffix(MONTHLY, '2024-12-30 10:00:00'), '2025-month12');
  assert.equal(suffix(WEEKLY, '2021-01-03 10:00:00'), '2020-week53');
  assert.equal(suffix(MONTHLY, '2021-01-03 10:00:00'), '2020-month01');
  assert.equal(suffix('DefaultLogFileNameBuilder', '2024-10-21 10:00:00'), undefined);
  // The mtime is read in the iTop zone.
  const t = utc(2024, 10, 20, 22, 30); // Monday 00:30 in Paris, Sunday in UTC
  assert.equal(logRotationSuffix(DAILY, t, PARIS), '2024-10-21');
  assert.equal(logRotationSuffix(DAILY, t, 'UTC'), '2024-10-20');
  assert.equal(logRotationSuffix(WEEKLY, t, PARIS), '2024-week43');
  assert.equal(logRotationSuffix(WEEKLY, t, 'UTC'), '2024-week42');
});

test('isoWeekOf on the year boundaries', () => {
  const cases: [number, number, number, number, number][] = [
    [2015, 12, 31, 2015, 53],
    [2016, 1, 3, 2015, 53],
    [2016, 1, 4, 2016, 1],
    [2018, 12, 31, 2019, 1],
    [2020, 12, 31, 2020, 53],
    [2024, 10, 27, 2024, 43],
    [2024, 10, 28, 2024, 44],
    [2026, 1, 1, 2026, 1],
  ];
  for (const [y, m, d, isoYear, isoWeek] of cases) assert.deepEqual(isoWeekOf(y, m, d), { isoYear, isoWeek }, `${y}-${m}-${d}`);
});

test('offsets used by the schedule tests are what they claim', () => {
  assert.equal(offsetAt(utc(2025, 4, 5, 15, 59, 59), SYDNEY), 11 * 3_600_000);
  assert.equal(offsetAt(utc(2025, 4, 5, 16), SYDNEY), 10 * 3_600_000);
  assert.equal(offsetAt(utc(2025, 11, 2, 5, 59, 59), NY), -4 * 3_600_000);
  assert.equal(offsetAt(utc(2025, 11, 2, 6), NY), -5 * 3_600_000);
});
