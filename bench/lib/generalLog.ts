/**
 * Statement counts from the server's general log (log_output=TABLE), the honest count: every statement a
 * client sends is there, with its connection id and a microsecond time stamp.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';

export interface LoggedStatement {
  readonly threadId: number;
  /** Epoch ms. */
  readonly at: number;
  /** 'Query', 'Execute', 'Prepare', 'Connect', 'Quit', ... */
  readonly command: string;
  readonly argument: string;
}

/** Empties the log and starts logging every statement of every client. */
export async function startGeneralLog(root: Connection): Promise<void> {
  await root.query('SET GLOBAL general_log = 0');
  await root.query("SET GLOBAL log_output = 'TABLE'");
  await root.query('TRUNCATE TABLE mysql.general_log');
  await root.query('SET GLOBAL general_log = 1');
}

/** Stops logging (the log stays readable until the next start). */
export async function stopGeneralLog(root: Connection): Promise<void> {
  await root.query('SET GLOBAL general_log = 0');
}

/** Everything the SQL account `user` sent while the log was on, oldest first. */
export async function statementsOf(root: Connection, user: string): Promise<LoggedStatement[]> {
  const [rows] = await root.query<RowDataPacket[]>(
    'SELECT thread_id, UNIX_TIMESTAMP(event_time) * 1000 AS at, command_type, CONVERT(argument USING utf8mb4) AS arg ' +
      'FROM mysql.general_log WHERE user_host LIKE ? ORDER BY event_time',
    [`${user}[%`],
  );
  return rows.map((r) => ({
    threadId: Number(r['thread_id']),
    at: Number(r['at']),
    command: String(r['command_type']),
    argument: String(r['arg'] ?? ''),
  }));
}

/** Statements proper (not the connect/quit bookkeeping lines). */
export function isStatement(s: LoggedStatement): boolean {
  return s.command === 'Query' || s.command === 'Execute' || s.command === 'Prepare';
}
