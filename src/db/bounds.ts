/**
 * Time bounds on everything the runner asks of the database server. A frozen server (stopped process,
 * dead network path, full disk on its side) keeps TCP connections open and answers nothing: without a
 * bound, a statement, a connection from the pool or the QUIT of a closing pool waits forever, and the run
 * outlives its hard deadline by as long as the freeze lasts.
 */

/** A statement that takes longer than this is abandoned even without a run deadline (a safety net). */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 600_000;

/**
 * Past the run's deadline a statement still gets this long: the bookkeeping of an aborted task is a
 * one-row UPDATE, a healthy server answers it in milliseconds.
 */
export const AFTER_DEADLINE_MS = 2_000;

/** How long closing a pool or the lock connection may take before its sockets are destroyed. */
export const CLOSE_TIMEOUT_MS = 2_000;

/** The error of a bounded wait; its code is mysql2's own for a statement timeout, a lost connection. */
export class DbTimeoutError extends Error {
  readonly code = 'PROTOCOL_SEQUENCE_TIMEOUT';
  constructor(what: string, ms: number) {
    super(`The database did not answer ${what} within ${Math.round(ms / 100) / 10}s`);
    this.name = 'DbTimeoutError';
  }
}

/** The timeout for a statement started now: the run's deadline, at least AFTER_DEADLINE_MS, at most `capMs`. */
export function statementTimeoutMs(deadlineMs: number | undefined, capMs: number, nowMs = Date.now()): number {
  if (deadlineMs === undefined) return capMs;
  return Math.min(capMs, Math.max(AFTER_DEADLINE_MS, deadlineMs - nowMs));
}

/** `promise`, or a DbTimeoutError after `ms` (the promise goes on; `onTimeout` may destroy what it waits on). */
export function bounded<T>(promise: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new DbTimeoutError(what, ms));
    }, ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
