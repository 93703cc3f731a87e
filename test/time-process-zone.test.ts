/**
 * adoptZone() (src/time/zone.ts): once iTop's zone is the process's TZ, wall times in it come from Date's
 * local getters instead of an Intl.DateTimeFormat. Both must give the same answers, DST changes and
 * PHP's rules for gaps and repeated hours included. A file of its own: TZ is the whole process's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adoptZone, formatLocal, localToEpoch, offsetAt, parseLocal } from '../src/time/zone.js';

const HOUR = 3_600_000;

/** Instants every 15 minutes across a year's two DST changes, plus far ones (iTop's 3000-01-01 "never"). */
function instants(year: number): number[] {
  const out: number[] = [Date.UTC(1969, 11, 31, 23, 59, 59), Date.UTC(3000, 0, 1), Date.UTC(2038, 0, 19, 3, 14, 8)];
  for (const month of [2, 9, 3, 10]) {
    const start = Date.UTC(year, month, 1) - 10 * 24 * HOUR;
    for (let t = start; t < start + 45 * 24 * HOUR; t += HOUR / 4) out.push(t + 7_000);
  }
  return out;
}

/** Wall times around the changes (gaps and repeated hours included), as PHP's parser would read them. */
function walls(year: number): string[] {
  const out: string[] = [];
  for (const [m, d] of [[3, 8], [3, 9], [3, 30], [3, 31], [4, 6], [10, 5], [10, 26], [10, 27], [11, 2]] as const) {
    for (let h = 0; h < 5; h++) for (const mi of [0, 15, 30, 45]) out.push(`${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')} ${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:00`);
  }
  return out;
}

function answers(tz: string): unknown[] {
  return [
    ...instants(2025).map((t) => [formatLocal(t, tz), offsetAt(t, tz)]),
    ...walls(2025).map((w) => parseLocal(w, tz)),
    localToEpoch(2025, 10, 26, 2, 30, 0, tz, 2 * HOUR),
    localToEpoch(2025, 3, 30, 2, 30, 0, tz),
  ];
}

for (const tz of ['Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'UTC']) {
  test(`the process's own zone gives what Intl gives: ${tz}`, () => {
    const viaIntl = answers(tz); // not yet the process's zone: through Intl.DateTimeFormat
    adoptZone(tz);
    assert.equal(process.env['TZ'], tz);
    assert.deepEqual(answers(tz), viaIntl);
  });
}

test('another zone than the adopted one still goes through Intl', () => {
  adoptZone('Europe/Paris');
  assert.equal(formatLocal(Date.UTC(2025, 6, 1, 12), 'America/New_York'), '2025-07-01 08:00:00');
  assert.equal(formatLocal(Date.UTC(2025, 6, 1, 12), 'Europe/Paris'), '2025-07-01 14:00:00');
});
