/**
 * The web console's test set-up: `itop-cron serve` from the built CLI on a test database, and registry
 * and run history rows written as a cron would have left them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { historyTableDdl } from '../../src/db/runHistory.js';
import { BIN, cliEnv } from './cli.js';
import type { TestDb } from './testDb.js';
import { tempDir } from './tempDir.js';

export interface Serve {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process logged so far. */
  readonly output: () => string;
}

/** Starts `itop-cron serve --port=0` on the database; stopped (SIGTERM) after the test. */
export async function startServe(t: TestContext, db: TestDb, extraEnv: Record<string, string> = {}): Promise<Serve> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ITOP_')) env[k] = v;
  Object.assign(env, cliEnv(db, { ITOP_CRON_LOG_LEVEL: 'info', ITOP_CRON_MAX_EXECUTION_TIME: '30', ...extraEnv }));
  const child = spawn(process.execPath, [BIN, 'serve', '--port=0', '--stop_timeout=0'], { cwd: tempDir('itop-cron-console-'), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('close', () => reject(new Error(`serve exited: ${out}`)));
  });
  return { url, child, output: () => out };
}

export async function addTask(db: TestDb, cls: string, next: string, extra: { avg?: number; latest?: number; runs?: number } = {}): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, next_run_date, latest_run_date, total_exec_count, min_run_duration, ` +
      "max_run_duration, average_run_duration, latest_run_duration, status, running, system_user) VALUES (?, ?, ?, ?, 0.1, 60, ?, ?, 'active', 0, '')",
    [cls, next, next, extra.runs ?? 0, extra.avg ?? 0, extra.latest ?? 0],
  );
}

export async function addRuns(db: TestDb, cls: string, n: number, message: (i: number) => string, seconds: (i: number) => number = () => 0.5): Promise<void> {
  await db.execute(historyTableDdl(db.prefix));
  for (let i = 0; i < n; i += 1) {
    // Yesterday, one second apart: recent enough that no retention pruning (30 days) removes them.
    const at = new Date(Date.now() - 86_400_000 + i * 1000).toISOString().slice(0, 19).replace('T', ' ');
    await db.execute(
      `INSERT INTO ${db.table('itop_cron_run_history')} (class_name, planned, started, ended, duration, outcome, message, host) VALUES (?, ?, ?, ?, ?, ?, ?, 'web01')`,
      [cls, at, at, at, seconds(i).toFixed(3), i % 7 === 3 ? 'failure' : 'success', message(i)],
    );
  }
}
