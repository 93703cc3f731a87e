import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClock } from '../src/time/clock.js';
import {
  formatLocal,
  formatLocalDate,
  isValidTimeZone,
  localParts,
  localToEpoch,
  offsetAt,
  parseLocal,
} from '../src/time/zone.js';

const PARIS = 'Europe/Paris';
const NY = 'America/New_York';
const HOUR = 3_600_000;
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number => Date.UTC(y, mo - 1, d, h, mi, s);

test('formatLocal and formatLocalDate in UTC and Europe/Paris', () => {
  const t = utc(2024, 10, 21, 8, 0, 0);
  assert.equal(formatLocal(t, 'UTC'), '2024-10-21 08:00:00');
  assert.equal(formatLocal(t, PARIS), '2024-10-21 10:00:00');
  assert.equal(formatLocal(utc(2025, 1, 5, 3, 4, 5), 'UTC'), '2025-01-05 03:04:05');
  // Midnight is 00, never 24; the date follows the zone.
  assert.equal(formatLocal(utc(2024, 12, 31, 23, 0, 0), PARIS), '2025-01-01 00:00:00');
  assert.equal(formatLocalDate(utc(2024, 12, 31, 23, 0, 0), PARIS), '2025-01-01');
  assert.equal(formatLocalDate(utc(2024, 12, 31, 23, 0, 0), 'UTC'), '2024-12-31');
  // Sub-second parts are dropped, not rounded.
  assert.equal(formatLocal(utc(2024, 10, 21, 8, 0, 59) + 999, 'UTC'), '2024-10-21 08:00:59');
  assert.equal(formatLocal(utc(3000, 1, 1) - HOUR, PARIS), '3000-01-01 00:00:00');
});

test('formatLocal across the 2025 DST transitions in Europe/Paris', () => {
  assert.equal(formatLocal(utc(2025, 3, 30, 0, 59, 59), PARIS), '2025-03-30 01:59:59');
  assert.equal(formatLocal(utc(2025, 3, 30, 1, 0, 0), PARIS), '2025-03-30 03:00:00');
  assert.equal(formatLocal(utc(2025, 10, 26, 0, 30, 0), PARIS), '2025-10-26 02:30:00'); // CEST
  assert.equal(formatLocal(utc(2025, 10, 26, 1, 30, 0), PARIS), '2025-10-26 02:30:00'); // CET
  assert.equal(offsetAt(utc(2025, 10, 26, 0, 59, 59), PARIS), 2 * HOUR);
  assert.equal(offsetAt(utc(2025, 10, 26, 1, 0, 0), PARIS), HOUR);
  assert.equal(offsetAt(utc(2025, 7, 1), 'UTC'), 0);
});

test('localParts gives the wall fields and the ISO weekday in the zone', () => {
  const t = utc(2024, 10, 20, 22, 30, 15); // Sunday in UTC, Monday 00:30 in Paris
  assert.deepEqual(localParts(t, PARIS), { year: 2024, month: 10, day: 21, hour: 0, minute: 30, second: 15, isoWeekday: 1 });
  assert.deepEqual(localParts(t, 'UTC'), { year: 2024, month: 10, day: 20, hour: 22, minute: 30, second: 15, isoWeekday: 7 });
  assert.equal(localParts(utc(2024, 10, 26, 12), PARIS).isoWeekday, 6);
});

test('localToEpoch: ordinary wall times in UTC and Paris', () => {
  assert.equal(localToEpoch(2024, 10, 21, 10, 0, 0, PARIS), utc(2024, 10, 21, 8));
  assert.equal(localToEpoch(2024, 1, 21, 10, 0, 0, PARIS), utc(2024, 1, 21, 9));
  assert.equal(localToEpoch(2024, 10, 21, 10, 0, 0, 'UTC'), utc(2024, 10, 21, 10));
});

test('localToEpoch: a time in the spring-forward gap moves forward by the gap (PHP)', () => {
  const t = localToEpoch(2025, 3, 30, 2, 30, 0, PARIS);
  assert.equal(t, utc(2025, 3, 30, 1, 30));
  assert.equal(formatLocal(t, PARIS), '2025-03-30 03:30:00');
  assert.equal(formatLocal(localToEpoch(2025, 3, 30, 2, 0, 0, PARIS), PARIS), '2025-03-30 03:00:00');
  assert.equal(formatLocal(localToEpoch(2025, 3, 30, 2, 59, 59, PARIS), PARIS), '2025-03-30 03:59:59');
  assert.equal(localToEpoch(2025, 3, 30, 1, 59, 59, PARIS), utc(2025, 3, 30, 0, 59, 59));
  assert.equal(localToEpoch(2025, 3, 30, 3, 0, 0, PARIS), utc(2025, 3, 30, 1, 0, 0));
  // West of Greenwich too: 02:30 on 2025-03-09 in New York is 03:30 EDT.
  assert.equal(localToEpoch(2025, 3, 9, 2, 30, 0, NY), utc(2025, 3, 9, 7, 30));
});

test("localToEpoch: the repeated hour takes PHP's choice, or the preferred offset", () => {
  // PHP (timelib) reads the wall time as UTC and uses the offset in force there: east of Greenwich
  // that is the second occurrence (CET) — php-src#10515 shows format('I') = 0 for it.
  assert.equal(localToEpoch(2025, 10, 26, 2, 30, 0, PARIS), utc(2025, 10, 26, 1, 30));
  assert.equal(localToEpoch(2025, 10, 26, 2, 0, 0, PARIS), utc(2025, 10, 26, 1, 0));
  // A DateTime already in summer time keeps it through the repeated hour (modify/setTime).
  assert.equal(localToEpoch(2025, 10, 26, 2, 30, 0, PARIS, 2 * HOUR), utc(2025, 10, 26, 0, 30));
  assert.equal(localToEpoch(2025, 10, 26, 2, 30, 0, PARIS, HOUR), utc(2025, 10, 26, 1, 30));
  // A preferred offset that is not valid for that wall time is ignored.
  assert.equal(localToEpoch(2025, 10, 26, 3, 30, 0, PARIS, 2 * HOUR), utc(2025, 10, 26, 2, 30));
  // West of Greenwich the same rule gives the first occurrence (EDT).
  assert.equal(localToEpoch(2025, 11, 2, 1, 30, 0, NY), utc(2025, 11, 2, 5, 30));
  assert.equal(localToEpoch(2025, 11, 2, 1, 30, 0, NY, -5 * HOUR), utc(2025, 11, 2, 6, 30));
  // Just outside the repeated hour nothing is ambiguous.
  assert.equal(localToEpoch(2025, 10, 26, 1, 59, 59, PARIS), utc(2025, 10, 25, 23, 59, 59));
  assert.equal(localToEpoch(2025, 10, 26, 3, 0, 0, PARIS), utc(2025, 10, 26, 2, 0, 0));
});

test('localToEpoch normalises out-of-range fields like Date.UTC', () => {
  assert.equal(formatLocal(localToEpoch(2024, 1, 32, 0, 0, 0, PARIS), PARIS), '2024-02-01 00:00:00');
  assert.equal(formatLocal(localToEpoch(2024, 10, 21, 29, 59, 0, PARIS), PARIS), '2024-10-22 05:59:00');
  assert.equal(formatLocal(localToEpoch(2024, 13, 1, 0, 0, 0, 'UTC'), 'UTC'), '2025-01-01 00:00:00');
  assert.equal(formatLocal(localToEpoch(2024, 3, 1, 0, 0, -1, 'UTC'), 'UTC'), '2024-02-29 23:59:59');
  assert.equal(formatLocal(localToEpoch(2024, 2, 30, 12, 0, 0, 'UTC'), 'UTC'), '2024-03-01 12:00:00');
});

test('localToEpoch round-trips wall times through 2025 and minute by minute around each transition', () => {
  const roundTrip = (t: number, tz: string): void => {
    const p = localParts(t, tz);
    const back = localToEpoch(p.year, p.month, p.day, p.hour, p.minute, p.second, tz);
    assert.equal(formatLocal(back, tz), formatLocal(t, tz));
    assert.equal(localToEpoch(p.year, p.month, p.day, p.hour, p.minute, p.second, tz, offsetAt(t, tz)), t);
  };
  const transitions: Record<string, number[]> = {
    [PARIS]: [utc(2025, 3, 30, 1), utc(2025, 10, 26, 1)],
    [NY]: [utc(2025, 3, 9, 7), utc(2025, 11, 2, 6)],
  };
  for (const [tz, instants] of Object.entries(transitions)) {
    for (let t = utc(2025, 1, 1); t < utc(2026, 1, 1); t += 3 * HOUR + 7 * 60_000 + 11_000) roundTrip(t, tz);
    for (const at of instants) {
      assert.notEqual(offsetAt(at - 1000, tz), offsetAt(at, tz), `${tz} changes offset at ${at}`);
      for (let t = at - 3 * HOUR; t <= at + 3 * HOUR; t += 60_000 + 1000) roundTrip(t, tz);
    }
  }
});

test('parseLocal accepts Y-m-d H:i:s and Y-m-d only', () => {
  assert.equal(parseLocal('2024-10-21 10:00:00', PARIS), utc(2024, 10, 21, 8));
  assert.equal(parseLocal('2024-10-21', PARIS), utc(2024, 10, 20, 22));
  assert.equal(parseLocal('2024-10-21 10:00:00', 'UTC'), utc(2024, 10, 21, 10));
  assert.equal(formatLocal(parseLocal('2025-03-30 02:30:00', PARIS), PARIS), '2025-03-30 03:30:00');
  // Overflows PHP's parser accepts carry over.
  assert.equal(formatLocal(parseLocal('2024-02-30 00:00:00', 'UTC'), 'UTC'), '2024-03-01 00:00:00');
  assert.equal(formatLocal(parseLocal('2024-10-21 24:00:00', 'UTC'), 'UTC'), '2024-10-22 00:00:00');
  for (const bad of [
    '',
    '2024-10-21T10:00:00',
    '2024-10-21 10:00',
    ' 2024-10-21 10:00:00',
    '2024-10-21 10:00:00 ',
    '24-10-21',
    '2024-13-01 00:00:00',
    '2024-10-32',
    '2024-10-21 10:60:00',
    '0000-00-00 00:00:00',
  ]) {
    assert.throws(() => parseLocal(bad, PARIS), RangeError, bad);
  }
});

test('isValidTimeZone', () => {
  for (const tz of ['Europe/Paris', 'UTC', 'America/New_York', 'Asia/Kolkata']) assert.equal(isValidTimeZone(tz), true, tz);
  for (const tz of ['', 'Mars/Olympus_Mons', 'Europe/Pariss', 'Paris']) assert.equal(isValidTimeZone(tz), false, tz);
});

test('createClock reads an injected now in its zone', () => {
  const now = utc(2026, 11, 23, 23, 12, 27) + 640;
  const clock = createClock(PARIS, () => now);
  assert.equal(clock.timezone, PARIS);
  assert.equal(clock.nowMs(), now);
  assert.equal(clock.nowUnix(), 1_795_475_547); // spec Appendix A: "Starting: 1795475547 (2026-11-24 00:12:27)"
  assert.equal(clock.nowLocal(), '2026-11-24 00:12:27');
  assert.equal(clock.format(utc(2026, 11, 24, 22, 30)), '2026-11-24 23:30:00');
  assert.equal(clock.parse('2026-11-24 00:12:27'), now - 640);
  assert.equal(createClock('UTC', () => now).nowLocal(), '2026-11-23 23:12:27');
});

test('createClock defaults to the real time and rejects unknown zones', () => {
  const before = Date.now();
  const read = createClock('UTC').nowMs();
  assert.ok(read >= before && read <= Date.now());
  assert.throws(() => createClock('Nowhere/Nothing'), RangeError);
});
