/**
 * Running the built CLI (bin/itop-cron.js over dist/) as a crontab line would: credentials in a 0600
 * parameter file, the database in ITOP_DB_* variables, times in UTC so that the harness can compare
 * next_run_date with its own clock.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackgroundTask } from '../../src/tasks/types.js';
import { ADMIN, type BenchDb } from './server.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(REPO, 'bin', 'itop-cron.js');
export const FLOORS = join(REPO, 'bench', 'floors');

/** The parameter file holding the administrator's credentials (written once per process). */
let paramFile: string | undefined;
function adminParamFile(): string {
  if (paramFile === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'itop-cron-bench-params-'));
    paramFile = join(dir, 'cron.params');
    writeFileSync(paramFile, `auth_user=${ADMIN.login}\nauth_pwd=${ADMIN.password}\n`);
    chmodSync(paramFile, 0o600);
  }
  return paramFile;
}

/**
 * What both sides of a figure inherit from the harness: the same few variables, and nothing else. A
 * variable that changes how Node starts (NODE_EXTRA_CA_CERTS makes every process parse a CA bundle,
 * ~50 ms; NODE_OPTIONS) must reach both sides or neither: earlier runs gave it to itop-cron only.
 */
export function sharedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

/** The environment of a CLI child: the shared variables, the database, UTC, and `extra`. */
export function cronEnv(db: BenchDb, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...sharedEnv(), ...db.env, ITOP_TIMEZONE: 'UTC', ITOP_CRON_LOG_LEVEL: 'info', ...extra };
}

/**
 * `node bin/itop-cron.js --param_file=<admin params> ...args`, as [command, argv]. For investigations only,
 * never for results: BENCH_NODE_ARGS (space-separated) adds node options (`--cpu-prof`, heap flags), and
 * BENCH_BIN replaces the executable (a variant of bin/itop-cron.js).
 */
export function cronCommand(...args: string[]): [string, string[]] {
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const bin = process.env['BENCH_BIN'] ?? BIN;
  return [process.execPath, [...nodeArgs, bin, `--param_file=${adminParamFile()}`, ...args]];
}

/** The environment of a floor script: the same database and account, as BENCH_DB_* variables. */
export function floorEnv(db: BenchDb, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const [host, port] = db.settings.host.split(':');
  return {
    ...sharedEnv(),
    BENCH_DB_HOST: host, BENCH_DB_PORT: port, BENCH_DB_USER: db.settings.user,
    BENCH_DB_PASSWORD: db.settings.password, BENCH_DB_NAME: db.name, ...extra,
  };
}

/** `node bench/floors/<name>.mjs`, as [command, argv]. */
export function floorCommand(name: string, ...args: string[]): [string, string[]] {
  return [process.execPath, [join(FLOORS, `${name}.mjs`), ...args]];
}

/**
 * One registry row per task (as cron.php's resync creates them) with the given next run, plus `extra`
 * rows of classes no task implements (they are listed by --status_only but never run).
 */
export async function seedRegistry(db: BenchDb, tasks: readonly BackgroundTask[], nextRun: string, extra = 0): Promise<void> {
  const names = [...tasks.map((t) => t.className)];
  for (let i = 1; i <= extra; i++) names.push(`BenchProcess${String(i).padStart(5, '0')}`);
  for (let i = 0; i < names.length; i += 500) {
    const chunk = names.slice(i, i + 500);
    await db.execute(
      'INSERT INTO priv_backgroundtask (class_name, first_run_date, latest_run_date, next_run_date, total_exec_count, ' +
        'latest_run_duration, min_run_duration, max_run_duration, average_run_duration, running, status, system_user) VALUES ' +
        chunk.map(() => "(?, NULL, NULL, ?, 0, 0.000, 99999.999, 0.000, 0.000, 0, 'active', '')").join(', '),
      chunk.flatMap((n) => [n, nextRun]),
    );
  }
}
