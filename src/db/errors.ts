import type { DbSettings } from '../config/types.js';
import { CronError, DbGoneAwayError, EXIT_ERROR } from '../errors.js';
import { describeConnectFailure } from './connectError.js';

/** mysql2 / server error codes that mean the connection is gone (iTop's MySQLHasGoneAwayException). */
const GONE_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
  'EPIPE',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'CR_SERVER_GONE_ERROR',
  'CR_SERVER_LOST',
  'ETIMEDOUT',
  // In the middle of a run, a refused reconnection is the server that went away (cron.php's 2006 line);
  // at start-up connectFailure() reports it as what it is.
  'ECONNREFUSED',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ENOTCONN',
]);
const GONE_ERRNOS = new Set([2006, 2013, 1053, 1927]);

interface SqlErrorLike {
  code?: string;
  errno?: number;
  message?: string;
  fatal?: boolean;
}

/** True when the error says the database connection was lost (not a SQL mistake). */
export function isConnectionLost(e: unknown): boolean {
  const err = e as SqlErrorLike | null;
  if (err === null || typeof err !== 'object') return false;
  return (err.code !== undefined && GONE_CODES.has(err.code)) || (err.errno !== undefined && GONE_ERRNOS.has(err.errno));
}

/**
 * Maps driver errors to the runner's kinds: a lost connection becomes DbGoneAwayError (cron.php's
 * "MySQL has gone away", errno 2006); anything else is kept, since mysql2 messages carry no password.
 */
export function translateDbError(e: unknown): unknown {
  if (e instanceof DbGoneAwayError) return e;
  if (isConnectionLost(e)) {
    const errno = (e as SqlErrorLike).errno;
    return new DbGoneAwayError('MySQL has gone away', errno !== undefined && errno > 0 ? errno : 2006, { cause: e });
  }
  return e;
}

/**
 * The one-line message for a database that cannot be reached at start-up (cron.php dies with 255): where
 * it tried and what to check (src/db/connectError.ts), not the "gone away" a refused connection maps to
 * in the middle of a run.
 */
export function connectFailure(e: unknown, db: DbSettings): CronError {
  return new CronError('EDBCONNECT', `Could not connect to the DB server: ${describeConnectFailure(e, db)}`, EXIT_ERROR, { cause: e });
}
