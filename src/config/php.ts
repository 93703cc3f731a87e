/**
 * PHP's value semantics, as iTop applies them to configuration values: `trim()`, the `(int)`,
 * `(bool)` and string casts, `isset()` lookups, and the `%env(...)%` placeholders of `$MySettings`.
 * Every module that reads a setting goes through these helpers so that a value means what it means to iTop.
 */
import { ConfigError } from '../errors.js';
import type { PhpArray, PhpValue } from './types.js';

/** The characters PHP's `trim()` strips: space, \t, \n, \r, \0 and \v (not \f, unlike String#trim). */
const PHP_TRIM_CHARS = ' \t\n\r\0\x0B';

/** PHP's `trim()` with its default character list. */
export function phpTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && PHP_TRIM_CHARS.includes(s.charAt(start))) start++;
  while (end > start && PHP_TRIM_CHARS.includes(s.charAt(end - 1))) end--;
  return s.slice(start, end);
}

/**
 * Sets an own enumerable property, even for keys such as `__proto__` that a plain assignment would
 * turn into a prototype change: keys come from files the administrator wrote.
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Own-property lookup, so that `toString` or `__proto__` in a lookup never reaches Object.prototype. */
export function getOwn<T>(obj: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** PHP_INT_MAX on 64-bit platforms (2^63 - 1), rounded to the nearest double: where PHP saturates a cast. */
const PHP_INT_MAX = 2 ** 63;

/** The leading numeric part PHP 8 accepts when casting a string: whitespace, sign, digits, fraction, exponent. */
const LEADING_NUMBER = /^[ \t\n\r\v\f]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/;

/** PHP's `(int)` cast: `"12abc"` → 12, `"abc"` → 0, `true` → 1, `2.9` → 2, `null` → 0, `[]` → 0, `[x]` → 1. */
export function phpInt(v: PhpValue | undefined): number {
  if (v === null || v === undefined || v === false) return 0;
  if (v === true) return 1;
  if (typeof v === 'number') return truncate(v);
  if (typeof v === 'string') {
    const m = LEADING_NUMBER.exec(v);
    return m?.[1] === undefined ? 0 : truncate(Number(m[1]));
  }
  return isEmptyArray(v) ? 0 : 1;
}

function truncate(n: number): number {
  if (!Number.isFinite(n)) return 0; // PHP 8 casts NAN and INF to 0
  const t = Math.trunc(n);
  if (t > PHP_INT_MAX) return PHP_INT_MAX;
  if (t < -PHP_INT_MAX) return -PHP_INT_MAX; // PHP_INT_MIN is -2^63, exactly this double
  return t === 0 ? 0 : t; // no -0
}

function isEmptyArray(v: PhpValue[] | { [key: string]: PhpValue }): boolean {
  return Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
}

/** PHP's `(bool)` cast: `""`, `"0"`, `0`, `0.0`, `null`, `false` and empty arrays are false; `"false"` is true. */
export function phpBool(v: PhpValue | undefined): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v !== '' && v !== '0';
  return !isEmptyArray(v);
}

/** PHP's string conversion followed by `trim()`: `true` → "1", `false`/`null` → "", arrays → "Array". */
export function phpString(v: PhpValue | undefined): string {
  if (v === null || v === undefined || v === false) return '';
  if (v === true) return '1';
  if (typeof v === 'number') return phpNumberString(v);
  if (typeof v === 'string') return phpTrim(v);
  return 'Array';
}

function phpNumberString(n: number): string {
  if (Number.isNaN(n)) return 'NAN';
  if (!Number.isFinite(n)) return n > 0 ? 'INF' : '-INF';
  // PHP prints 1.0E+25 where JavaScript prints 1e+25; plain magnitudes print alike.
  return String(n).replace(/e([+-])/, (_m, sign: string) => `.0E${sign}`).replace(/^(-?\d+)\.(\d+)\.0E/, '$1.$2E');
}

/** A setting with `isset()` semantics: a missing key and a `null` value both give undefined. */
export function settingValue(settings: Readonly<PhpArray>, key: string): PhpValue | undefined {
  const v = getOwn(settings, key);
  return v === null ? undefined : v;
}

/** `$MySettings[key]` cast with `(int)`, or `def` when unset. */
export function settingInt(settings: Readonly<PhpArray>, key: string, def: number): number {
  const v = settingValue(settings, key);
  return v === undefined ? def : phpInt(v);
}

/** `$MySettings[key]` cast with `(bool)`, or `def` when unset. */
export function settingBool(settings: Readonly<PhpArray>, key: string, def: boolean): boolean {
  const v = settingValue(settings, key);
  return v === undefined ? def : phpBool(v);
}

/** `$MySettings[key]` as a trimmed string, or `def` when unset. */
export function settingString(settings: Readonly<PhpArray>, key: string, def: string): string {
  const v = settingValue(settings, key);
  return v === undefined ? def : phpString(v);
}

/**
 * `$MyModuleSettings[module][key]` as iTop's `Config::GetModuleSetting` reads it from the file: `isset()`
 * semantics, so a `null` value falls back to `def`. The value is not cast.
 */
export function moduleSetting<T extends PhpValue | undefined>(
  moduleSettings: Readonly<Record<string, PhpArray>>,
  module: string,
  key: string,
  def: T,
): PhpValue | T {
  const section = getOwn(moduleSettings, module);
  if (section === undefined) return def;
  const v = getOwn(section, key);
  return v === undefined || v === null ? def : v;
}

/** `%env(NAME)%`, `%env(NAME)?:default%` and `%server(NAME)%`; the default must match `\w*`. */
const PLACEHOLDER = /%(env|server)\((\w+)\)(?:\?:(\w*))?%/g;

/**
 * Expands iTop's configuration placeholders in every string of `$MySettings` (nested arrays included),
 * but only when `ITOP_CONFIG_PLACEHOLDERS` is non-empty in the PHP sense, as iTop does. In the CLI PHP's
 * `$_SERVER` holds the environment, so `server` and `env` both read `env`. A name that is not set and has
 * no default is a ConfigError; the message names the setting and the variable, never a value.
 */
export function expandPlaceholders(
  settings: Readonly<PhpArray>,
  env: NodeJS.ProcessEnv,
  source: string,
): PhpArray {
  if (!phpBool(env['ITOP_CONFIG_PLACEHOLDERS'] ?? '')) return { ...settings };
  const out: PhpArray = {};
  for (const [key, value] of Object.entries(settings)) {
    setOwn(out, key, expandValue(value, env, key, source));
  }
  return out;
}

function expandValue(v: PhpValue, env: NodeJS.ProcessEnv, key: string, source: string): PhpValue {
  if (typeof v === 'string') {
    return v.replace(PLACEHOLDER, (_m, kind: string, name: string, def: string | undefined) => {
      const found = env[name];
      if (found !== undefined) return found;
      if (def !== undefined) return def;
      throw new ConfigError(
        `Invalid value for '${key}' in ${source}: the placeholder %${kind}(${name})% names a variable that is not set`,
      );
    });
  }
  if (Array.isArray(v)) return v.map((item) => expandValue(item, env, key, source));
  if (v !== null && typeof v === 'object') {
    const out: PhpArray = {};
    for (const [k, item] of Object.entries(v)) setOwn(out, k, expandValue(item, env, key, source));
    return out;
  }
  return v;
}
