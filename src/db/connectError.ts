/**
 * What went wrong when the database could not be reached at start-up, as one line naming where itop-cron
 * tried (host:port or socket) and what to check. Built from the driver's error code and the settings,
 * never from the password: only the host, port, socket path, user and database name are named.
 */
import { describeDbHost } from '../config/load.js';
import type { DbSettings } from '../config/types.js';

interface DriverError {
  code?: string;
  errno?: number;
  cause?: unknown;
}

/** The driver's own error: a lost-connection translation (src/db/errors.ts) keeps it as its cause. */
function driverError(e: unknown): DriverError {
  let err = e as DriverError | null;
  while (err !== null && typeof err === 'object' && err.code === undefined && err.cause !== undefined) err = err.cause as DriverError;
  return err !== null && typeof err === 'object' ? err : {};
}

/** Where the connection went: the socket when `localhost` found one, else host:port. */
export function connectTarget(db: DbSettings): { text: string; socket: boolean; host: string; port: number } {
  const where = describeDbHost(db.host);
  const port = where.port ?? 3306;
  if (where.socket && db.socketPath !== undefined) return { text: `socket ${db.socketPath}`, socket: true, host: where.host, port };
  return { text: `${where.host}:${port}`, socket: false, host: where.host, port };
}

const SOCKET_HINT = 'Set ITOP_DB_SOCKET to the server\'s socket (`mysqladmin variables | grep socket`), or db_host to 127.0.0.1:3306 for TCP';

/** The reason and the hint for a failed start-up connection, one line without the password. */
export function describeConnectFailure(e: unknown, db: DbSettings): string {
  const err = driverError(e);
  const target = connectTarget(db);
  const at = `at ${target.text}`;
  const user = `'${db.user}'`;
  // `localhost` without a socket on disk: mysqli would fail; mysql2 falls back to TCP, say so.
  const noSocket = describeDbHost(db.host).socket && !target.socket ? ' (no Unix socket found, so TCP was tried)' : '';
  switch (err.code) {
    case 'ECONNREFUSED':
      return target.socket
        ? `connection refused ${at}: is MariaDB running? (the socket file exists but no server listens on it)`
        : `connection refused ${at}${noSocket}: is MariaDB running and listening on TCP port ${target.port}? ${socketOnlyHint(db, target.host)}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return `unknown host '${target.host}' (db_host = '${db.host}'): check the name, or give an IP address`;
    case 'ETIMEDOUT':
      return `no answer ${at} within 10 s: is the host right, and does a firewall let port ${target.port} through?`;
    case 'ENOENT':
      return `no socket at ${db.socketPath ?? ''} (ITOP_DB_SOCKET): is MariaDB running? ${SOCKET_HINT}`;
    case 'EACCES':
      return `permission denied on socket ${db.socketPath ?? ''}: run itop-cron as a user that may open it, or set db_host to 127.0.0.1:3306 for TCP`;
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
      return accessDenied(err.code, db, target, at, user);
    case 'ER_BAD_DB_ERROR':
      return `database '${db.name}' does not exist ${at}: check db_name`;
    case 'HANDSHAKE_NO_SSL_SUPPORT':
      return `the server ${at} does not support TLS, which db_tls.enabled asks for`;
    default:
      return `${err.code ?? 'error'} ${at}${noSocket}`;
  }
}

const LOCAL = new Set(['localhost', '127.0.0.1', '::1']);

/** A local server that listens only on its socket (skip-networking, Debian's root account) refuses TCP. */
function socketOnlyHint(db: DbSettings, host: string): string {
  if (!LOCAL.has(host)) return `Check db_host, and that the server accepts remote connections (bind-address)`;
  if (db.user === 'root') return 'On Debian, root logs in through the Unix socket: set db_host to localhost';
  return 'If it listens only on its Unix socket, set db_host to localhost';
}

function accessDenied(code: string, db: DbSettings, target: { socket: boolean }, at: string, user: string): string {
  if (code === 'ER_DBACCESS_DENIED_ERROR') return `user ${user} may not use database '${db.name}' ${at}: grant it access`;
  const base = `access denied for the database user ${user} ${at}: check db_user and db_pwd`;
  if (db.user === 'root' && !target.socket) return `${base}. On Debian, root logs in through the Unix socket: set db_host to localhost`;
  if (target.socket) return `${base} (an account with unix_socket authentication only logs in as the system user of the same name)`;
  return base;
}
