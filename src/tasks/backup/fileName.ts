/**
 * The name of a backup file: iTop's `file_name_format` module setting, where
 * `__HOST__`, `__DB__` and `__SUBNAME__` stand for the database host, name and prefix, and strftime-style
 * `%x` tokens are turned into PHP date() characters (utils::StrftimeFormatToDateTimeFormat) and then
 * formatted with PHP's rules, in iTop's time zone. Tokens iTop cannot convert keep their `%` and the
 * letter goes through date() anyway, as in PHP (`%U` → `%` + the Unix time).
 */
import { localParts, offsetAt } from '../../time/zone.js';
import { isoWeekOf } from '../../scheduler/logRotationSchedule.js';

/** iTop's default `file_name_format`. */
export const DEFAULT_BACKUP_NAME_FORMAT = '__DB__-%Y-%m-%d_%H_%M';

/** strftime token → PHP date() format, as iTop converts them. Absent tokens stay as written. */
const STRFTIME_TO_DATE: Readonly<Record<string, string>> = {
  '%d': 'd', '%m': 'm', '%y': 'y', '%Y': 'Y', '%H': 'H', '%M': 'i', '%S': 's',
  '%a': 'D', '%A': 'l', '%e': 'j', '%j': 'z', '%u': 'N', '%w': 'w',
  '%V': 'W', '%b': 'M', '%B': 'F', '%h': 'M', '%g': 'y', '%G': 'Y',
  '%k': 'G', '%I': 'h', '%l': 'g', '%p': 'A', '%P': 'a', '%r': 'h:i:s A', '%R': 'H:i', '%T': 'H:i:s',
  '%z': 'O', '%Z': 'T', '%D': 'm/d/y', '%F': 'Y-m-d', '%s': 'U',
};

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (n: number, width = 2): string => String(Math.abs(n)).padStart(width, '0');

/** The zone's abbreviation as PHP's 'T' prints it: CET, EST, UTC, or the offset ('+03') when there is none. */
function zoneAbbreviation(ms: number, tz: string, offsetMin: number): string {
  for (const locale of ['en-US', 'en-GB']) {
    const part = new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: 'short' })
      .formatToParts(ms)
      .find((p) => p.type === 'timeZoneName')?.value;
    if (part !== undefined && /^[A-Z]{2,5}$/.test(part)) return part;
  }
  const sign = offsetMin < 0 ? '-' : '+';
  const rest = Math.abs(offsetMin) % 60;
  return `${sign}${pad(Math.trunc(Math.abs(offsetMin) / 60))}${rest === 0 ? '' : pad(rest)}`;
}

/** One PHP date() character for the instant; undefined for a character date() prints as is. */
function dateChar(c: string, ms: number, tz: string): string | undefined {
  const p = localParts(ms, tz);
  const offsetMin = Math.round(offsetAt(ms, tz) / 60_000);
  const offset = (colon: boolean): string =>
    `${offsetMin < 0 ? '-' : '+'}${pad(Math.trunc(Math.abs(offsetMin) / 60))}${colon ? ':' : ''}${pad(Math.abs(offsetMin) % 60)}`;
  const hour12 = p.hour % 12 === 0 ? 12 : p.hour % 12;
  const leap = (p.year % 4 === 0 && p.year % 100 !== 0) || p.year % 400 === 0;
  const dayOfYear = Math.round((Date.UTC(p.year, p.month - 1, p.day) - Date.UTC(p.year, 0, 1)) / 86_400_000);
  const iso = isoWeekOf(p.year, p.month, p.day);
  const ymd = `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
  const his = `${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
  const table: Record<string, () => string> = {
    d: () => pad(p.day), D: () => (DAYS[p.isoWeekday - 1] ?? '').slice(0, 3), j: () => String(p.day),
    l: () => DAYS[p.isoWeekday - 1] ?? '', N: () => String(p.isoWeekday), w: () => String(p.isoWeekday % 7),
    z: () => String(dayOfYear), W: () => pad(iso.isoWeek), F: () => MONTHS[p.month - 1] ?? '',
    m: () => pad(p.month), M: () => (MONTHS[p.month - 1] ?? '').slice(0, 3), n: () => String(p.month),
    t: () => String(new Date(Date.UTC(p.year, p.month, 0)).getUTCDate()), L: () => (leap ? '1' : '0'),
    o: () => String(iso.isoYear), Y: () => pad(p.year, 4), y: () => pad(p.year % 100), x: () => pad(p.year, 4),
    X: () => `+${pad(p.year, 4)}`, a: () => (p.hour < 12 ? 'am' : 'pm'), A: () => (p.hour < 12 ? 'AM' : 'PM'),
    g: () => String(hour12), G: () => String(p.hour), h: () => pad(hour12), H: () => pad(p.hour),
    i: () => pad(p.minute), s: () => pad(p.second), v: () => '000', u: () => '000000', e: () => tz,
    O: () => offset(false), P: () => offset(true), T: () => zoneAbbreviation(ms, tz, offsetMin),
    Z: () => String(offsetMin * 60), U: () => String(Math.floor(ms / 1000)), c: () => `${ymd}T${his}${offset(true)}`,
  };
  return Object.hasOwn(table, c) ? table[c]?.() : undefined;
}

/** PHP's date(format) for the instant `ms` in `tz`, for the characters a converted token can hold. */
export function phpDate(format: string, ms: number, tz: string): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format.charAt(i);
    if (c === '\\' && i + 1 < format.length) {
      out += format.charAt(++i);
      continue;
    }
    out += dateChar(c, ms, tz) ?? c;
  }
  return out;
}

/** What the placeholders stand for. */
export interface BackupNameParts {
  /** The database host, without port. */
  readonly host: string;
  readonly dbName: string;
  /** `db_subname`. */
  readonly prefix: string;
}

/** The backup name, without `.tar.gz`, for `format` at `nowMs` in `tz`. */
export function formatBackupName(format: string, parts: BackupNameParts, nowMs: number, tz: string): string {
  const named = format
    .split('__HOST__').join(parts.host)
    .split('__DB__').join(parts.dbName)
    .split('__SUBNAME__').join(parts.prefix);
  return named.replace(/%[a-zA-Z]/g, (token) => phpDate(STRFTIME_TO_DATE[token] ?? token, nowMs, tz));
}

/**
 * The name iTop would give the backup: the format, or the default one when the format gives an empty
 * name. Undefined when the name cannot be a file name in the backup directory (a `/`, a NUL,
 * `.` or `..`), which iTop would have failed on later with a less clear error.
 */
export function backupName(format: string, parts: BackupNameParts, nowMs: number, tz: string): string | undefined {
  let name = formatBackupName(format, parts, nowMs, tz);
  if (name === '') name = formatBackupName(DEFAULT_BACKUP_NAME_FORMAT, parts, nowMs, tz);
  if (/[/\\\0]/.test(name) || name === '.' || name === '..') return undefined;
  return name;
}
