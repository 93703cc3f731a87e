/**
 * iTop's retry policy for failed asynchronous tasks (AsyncTask::HandleError), as pure functions:
 * what a failure writes to the task row and to its event, given the row, the policy and the clock.
 */
import { getOwn, phpBool, phpInt, settingValue } from '../config/php.js';
import type { Config, PhpValue } from '../config/types.js';
import type { FailureUpdate } from '../db/asyncTasks.js';
import type { Clock } from '../time/clock.js';

/** `async_task_retries[<class>]`, with iTop's defaults for a class that is not listed. */
export interface RetryPolicy {
  maxRetries: number;
  /** Seconds. */
  retryDelay: number;
  exponentialDelay: boolean;
}

/** The largest DATETIME: a retry planned later cannot be stored (2^59 × 600 s lands past year 9999). */
export const LATEST_PLANNED = '9999-12-31 23:59:59';

/**
 * Seconds from now until LATEST_PLANNED, the longest delay a retry can have. An exponential policy with
 * many retries overflows any date (and a double: 2^1024 is Infinity); clamping keeps the task queued
 * "as late as possible" instead of throwing at every attempt and halting the queue (issue 16).
 */
function longestDelay(clock: Clock, nowMs: number): number {
  return Math.max(0, Math.floor((clock.parse(LATEST_PLANNED) - nowMs) / 1000));
}

const DEFAULT_MAX_RETRIES = 0;
const DEFAULT_RETRY_DELAY = 600;

function isPhpMap(v: PhpValue | undefined): v is { [key: string]: PhpValue } {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The retry policy of one concrete class (the lookup uses the exact class name). A missing
 * setting is iTop's default, which gives AsyncSendEmail the same values as an unknown class: no retry.
 */
export function retryPolicy(config: Config, className: string): RetryPolicy {
  const all = settingValue(config.settings, 'async_task_retries');
  const entry = isPhpMap(all) ? getOwn(all, className) : undefined;
  if (!isPhpMap(entry)) return { maxRetries: DEFAULT_MAX_RETRIES, retryDelay: DEFAULT_RETRY_DELAY, exponentialDelay: false };
  const value = (key: string): PhpValue | undefined => {
    const v = getOwn(entry, key);
    return v === null ? undefined : v;
  };
  const max = value('max_retries');
  const delay = value('retry_delay');
  return {
    maxRetries: max === undefined ? DEFAULT_MAX_RETRIES : phpInt(max),
    retryDelay: delay === undefined ? DEFAULT_RETRY_DELAY : phpInt(delay),
    exponentialDelay: phpBool(value('exponential_delay')),
  };
}

/**
 * iTop's `SetTrim` for a VARCHAR(255): a longer text keeps its first characters and ends with
 * ` -truncated (<length> chars)`, the whole being `max` characters (code points, as MariaDB counts them).
 */
export function trimToColumn(text: string, max = 255): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const suffix = ` -truncated (${chars.length} chars)`;
  return chars.slice(0, Math.max(0, max - suffix.length)).join('') + suffix;
}

/** What one failure does: the row update, the event messages and the log line. */
export interface FailurePlan {
  update: FailureUpdate;
  /** Seconds until the retry; undefined when the task is given up (`error`). */
  retryIn: number | undefined;
  /** The remaining retries shown in the messages (the count before this retry is used). */
  remaining: number;
  /** The event message: the error, then what happens next. */
  eventMessage: string;
  /** The text used when the full message cannot be written. */
  eventFallback: string;
}

/**
 * Plans the consequences of a failed attempt:
 * - on the first failure (`last_attempt` empty) the remaining retries start at `max_retries`;
 * - while retries remain, the task is planned again after `retry_delay` seconds, doubled for each retry
 *   already used when `exponential_delay` is set (2^(max − remaining), remaining taken before the decrement,
 *   never below 2^0), and `remaining_retries` goes down by one; a retry past the largest DATETIME is
 *   planned at that date (LATEST_PLANNED);
 * - otherwise it ends in `error`, never to be picked up again.
 */
export function planFailure(
  row: { last_attempt: string | null; remaining_retries: number | null },
  policy: RetryPolicy,
  error: string,
  errorCode: number,
  clock: Clock,
): FailurePlan {
  const nowMs = clock.nowMs();
  const firstFailure = row.last_attempt === null || row.last_attempt === '';
  const remaining = firstFailure ? policy.maxRetries : Number(row.remaining_retries ?? 0);
  const base = {
    lastError: trimToColumn(error),
    lastErrorCode: Number.isSafeInteger(errorCode) ? errorCode : 0,
    lastAttempt: clock.format(nowMs),
  };
  if (remaining > 0) {
    const exponent = Math.max(0, policy.maxRetries - remaining);
    const wanted = Math.max(0, policy.exponentialDelay ? policy.retryDelay * 2 ** exponent : policy.retryDelay);
    const longest = longestDelay(clock, nowMs);
    const clamped = !(wanted < longest);
    const delay = clamped ? longest : wanted;
    const next = `Failed to process async task. Remaining retries: ${remaining}. Next retry in ${delay}s`;
    return {
      update: { ...base, status: 'planned', planned: clamped ? LATEST_PLANNED : clock.format(nowMs + delay * 1000), remainingRetries: remaining - 1 },
      retryIn: delay,
      remaining,
      eventMessage: `${error}\n${next}`,
      eventFallback: `${next}, more details in the log`,
    };
  }
  return {
    update: { ...base, status: 'error', planned: null, remainingRetries: remaining },
    retryIn: undefined,
    remaining,
    eventMessage: `${error}\nFailed to process async task.`,
    eventFallback: 'Failed to process async task, more details in the log',
  };
}
