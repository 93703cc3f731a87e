/**
 * Numeric options and itop-cron's own numeric settings, checked when the configuration is loaded (before
 * the database is reached), so that `--task_grace_seconds=abc` is a one-line error naming the option
 * instead of a silent default, and `itop_cron.smtp_timeout => 'abc'` is not PHP's `(int)` 0 ("no timeout").
 * iTop's own settings keep PHP's casts: config-itop.php is read as iTop reads it.
 */
import { ConfigError } from '../errors.js';
import { getOwn } from './php.js';
import type { PhpArray, PhpValue } from './types.js';

interface NumericRule {
  readonly min: number;
  readonly max?: number;
  /** A fraction is allowed (seconds given to a timer). */
  readonly decimal?: boolean;
  /** The empty value means "off" (a port). */
  readonly emptyOk?: boolean;
}

const SECONDS: NumericRule = { min: 0, decimal: true };
const COUNT: NumericRule = { min: 0 };
const POSITIVE: NumericRule = { min: 1 };
const PORT: NumericRule = { min: 0, max: 65535, emptyOk: true };
// Bounds where a larger value breaks the arithmetic instead of meaning "longer": a timer of more than
// 2^31-1 ms fires at once (Node's TimeoutOverflowWarning), and a date more than ~10,000 years back is no
// Date at all ('Invalid time value' at every pass, which halts the mail queue).
const TIMER_SECONDS: NumericRule = { min: 0, max: 2_147_483 };
const POSITIVE_TIMER_SECONDS: NumericRule = { min: 1, max: 2_147_483 };
const AGE_SECONDS: NumericRule = { min: 0, max: 100 * 365 * 86_400 };
const AGE_DAYS: NumericRule = { min: 1, max: 100 * 365 };

/** `--name=value` / parameter-file options (the others are flags, paths or names). */
const OPTIONS: Readonly<Record<string, NumericRule>> = {
  task_grace_seconds: SECONDS,
  metrics_port: PORT,
};

/** `$MySettings['itop_cron.*']` entries read as numbers. */
const SETTINGS: Readonly<Record<string, NumericRule>> = {
  'itop_cron.task_grace_seconds': SECONDS,
  'itop_cron.status_max_lateness': COUNT,
  'itop_cron.status_max_age': COUNT,
  'itop_cron.async_running_timeout': AGE_SECONDS,
  'itop_cron.smtp_timeout': TIMER_SECONDS,
  'itop_cron.ping_timeout': POSITIVE_TIMER_SECONDS,
  'itop_cron.history_max_rows': POSITIVE,
  'itop_cron.history_max_days': AGE_DAYS,
  'itop_cron.alert_after_failures': POSITIVE,
  'itop_cron.log_rotate_keep': POSITIVE,
  'itop_cron.metrics_port': PORT,
  'itop_cron.max_parallel': POSITIVE,
  'itop_cron.cluster_renew_seconds': { min: 0.1, max: 3600, decimal: true },
  'itop_cron.cluster_ttl_seconds': { min: 0.5, max: 86_400, decimal: true },
};

function expected(rule: NumericRule): string {
  const what = rule.decimal === true ? 'a number' : 'an integer';
  return rule.max === undefined ? `${what} >= ${rule.min}` : `${what} from ${rule.min} to ${rule.max}`;
}

/** The value as an error may repeat it: short printable text only, so that the message stays one line. */
function shown(v: PhpValue): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return /^[\x20-\x7e]{0,40}$/.test(text) ? `'${text}'` : `of ${[...text].length} characters`;
}

function valid(v: PhpValue, rule: NumericRule): boolean {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const t = v.trim();
    if (t === '') return rule.emptyOk === true;
    if (!(rule.decimal === true ? /^\d+(?:\.\d+)?$/ : /^\d+$/).test(t)) return false;
    n = Number(t);
  } else return false;
  if (!Number.isFinite(n) || n < rule.min || (rule.max !== undefined && n > rule.max)) return false;
  return rule.decimal === true || Number.isSafeInteger(n);
}

/**
 * @param options the merged `--name=value` options (command line over parameter files).
 * @param settings `$MySettings`.
 * @throws ConfigError (exit 254) naming the first option or setting that is not a valid number.
 */
export function checkNumericValues(options: Readonly<Record<string, string>>, settings: Readonly<PhpArray>): void {
  for (const [name, rule] of Object.entries(OPTIONS)) {
    const v = getOwn(options, name);
    if (v !== undefined && !valid(v, rule)) throw new ConfigError(`Invalid value for '${name}': ${shown(v)} (expected ${expected(rule)})`);
  }
  for (const [key, rule] of Object.entries(SETTINGS)) {
    const v = getOwn(settings, key);
    if (v !== undefined && v !== null && !valid(v, rule)) throw new ConfigError(`Invalid value for '${key}': ${shown(v)} (expected ${expected(rule)})`);
  }
}
