/** The mysql command-line client as a floor: the same statements, run by the client binary. */
import { findBinary } from '../../src/mariadb/throwaway.js';
import { runMeasured, type MeasuredRun } from './proc.js';
import type { BenchDb } from './server.js';

/** Runs `sql` (statements separated by `;`) with `mariadb`/`mysql` as the cron SQL account; measured. */
export async function runClient(db: BenchDb, sql: string): Promise<MeasuredRun> {
  const client = findBinary('mariadb', 'mysql');
  if (client === undefined) throw new Error('the mariadb/mysql client is not installed');
  const [host, port] = db.settings.host.split(':');
  const r = await runMeasured(
    client,
    ['--no-defaults', '--protocol=TCP', `--host=${host}`, `--port=${port}`, `--user=${db.settings.user}`, '--batch', db.name, '-e', sql],
    // The password goes through the environment, never on argv.
    { env: { PATH: process.env['PATH'], MYSQL_PWD: db.settings.password } },
  );
  if (r.code !== 0) throw new Error(`mysql client failed (${r.code}): ${r.stderr.slice(0, 400)}`);
  return r;
}
