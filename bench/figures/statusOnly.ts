/**
 * `--status_only` as monitoring calls it every minute: the built CLI against its floor (node + mysql2 +
 * one SELECT + print), alternated, with 10 and 1,000 registry rows. Wall time and peak RSS.
 */
import bcrypt from 'bcryptjs';
import { nativeBcryptVerify, verifyItopPassword } from '../../src/auth/password.js';
import { builtInTasks } from '../../src/tasks/registry.js';
import { passwordColumns } from '../../test/helpers/testDb.js';
import { cronCommand, cronEnv, floorCommand, floorEnv, seedRegistry } from '../lib/cron.js';
import { runMeasured, type MeasuredRun } from '../lib/proc.js';
import { mib, type ResultRow } from '../lib/report.js';
import { ADMIN, type BenchDb, type BenchServer } from '../lib/server.js';
import { median } from '../lib/stats.js';

const RSS_LIMIT_KIB = 60 * 1024;

async function checked(run: Promise<MeasuredRun>, what: string, rows: number): Promise<MeasuredRun> {
  const r = await run;
  const lines = r.stdout.trim().split('\n').length;
  if (r.code !== 0 || lines < rows) {
    throw new Error(`${what} failed (exit ${r.code}, ${lines} lines): ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 500)}`);
  }
  return r;
}

/**
 * `reps` runs of `--status_only` and of its floor on `db`, alternated so that drift of the machine (other
 * load, caches) hits both alike, after one warm-up of each (page cache, server buffers).
 */
async function alternate(db: BenchDb, reps: number, rows: number, what: string): Promise<{ product: MeasuredRun[]; floor: MeasuredRun[] }> {
  const [cmd, args] = cronCommand('--status_only=1');
  const [fcmd, fargs] = floorCommand('status');
  const product: MeasuredRun[] = [];
  const floor: MeasuredRun[] = [];
  for (let i = 0; i <= reps; i++) {
    const p = await checked(runMeasured(cmd, args, { env: cronEnv(db) }), what, rows);
    const f = await checked(runMeasured(fcmd, fargs, { env: floorEnv(db) }), 'status floor', rows);
    if (i === 0) continue;
    product.push(p);
    floor.push(f);
  }
  return { product, floor };
}

/**
 * The share of the password check: the same runs with the administrator's password stored in iTop's
 * legacy salted SHA-256 form (iTop ≤ 2.5, still accepted) instead of bcrypt cost 10. Informative: the
 * floor checks no password at all, cron.php and itop-cron must.
 */
async function withoutBcrypt(db: BenchDb, reps: number): Promise<ResultRow[]> {
  const { hash, salt } = passwordColumns(ADMIN.password, true);
  await db.execute(
    'UPDATE priv_user_local SET password_hash = ?, password_salt = ? WHERE id = (SELECT id FROM priv_user WHERE login = ?)',
    [hash, salt, ADMIN.login],
  );
  const { product, floor } = await alternate(db, reps, 10, 'itop-cron --status_only (SHA-256)');
  const wall = median(product.map((r) => r.wallMs));
  const floorWall = median(floor.map((r) => r.wallMs));
  const check = median(await bcryptTimes(reps));
  return [
    {
      figure: '--status_only wall time, 10 rows, legacy SHA-256 password (no bcrypt)',
      value: `${wall.toFixed(0)} ms`, floor: `${floorWall.toFixed(0)} ms`, ratio: wall / floorWall, target: '(informative)', pass: undefined,
    },
    {
      figure: `bcrypt cost 10 check alone (${nativeBcryptVerify() === undefined ? 'bcryptjs' : '@node-rs/bcrypt'}, in-process)`,
      value: `${check.toFixed(0)} ms`, floor: '—', ratio: Number.NaN, target: '(informative)', pass: undefined,
    },
  ];
}

/** Times of verifyItopPassword on a PHP cost-10 hash, in this process. */
async function bcryptTimes(reps: number): Promise<number[]> {
  const hash = bcrypt.hashSync(ADMIN.password, 10).replace(/^\$2[ab]\$/, '$2y$');
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t = performance.now();
    // The check --status_only makes (src/cli/runCron.ts): the native one where it is installed.
    if (!(await verifyItopPassword(ADMIN.password, hash, '', 'native'))) throw new Error('bcrypt check failed');
    if (i > 0) times.push(performance.now() - t);
  }
  return times;
}

/** Measures one data size; `reps` runs of each side after one warm-up of each. */
async function measureSize(server: BenchServer, size: number, reps: number): Promise<ResultRow[]> {
  const db = await server.createDb(`status${size}`);
  try {
    const tasks = builtInTasks();
    await seedRegistry(db, tasks, '2030-01-01 00:00:00', Math.max(0, size - tasks.length));
    const { product, floor } = await alternate(db, reps, size, 'itop-cron --status_only');
    const pWall = median(product.map((r) => r.wallMs));
    const fWall = median(floor.map((r) => r.wallMs));
    const pRss = median(product.map((r) => r.peakRssKiB));
    const fRss = median(floor.map((r) => r.peakRssKiB));
    const extra = size === 10 ? await withoutBcrypt(db, reps) : [];
    return [
      {
        figure: `--status_only wall time, ${size} rows`,
        value: `${pWall.toFixed(0)} ms`, floor: `${fWall.toFixed(0)} ms`, ratio: pWall / fWall,
        target: '≤ 1.5×', pass: pWall / fWall <= 1.5,
      },
      {
        figure: `--status_only peak RSS, ${size} rows`,
        value: mib(pRss), floor: mib(fRss), ratio: pRss / fRss,
        target: '≤ 60 MiB', pass: pRss <= RSS_LIMIT_KIB,
      },
      ...extra,
    ];
  } finally {
    await db.drop();
  }
}

/** The four status_only rows (wall time and RSS, 10 and 1,000 rows). */
export async function statusOnlyFigures(server: BenchServer, reps: number): Promise<ResultRow[]> {
  return [...(await measureSize(server, 10, reps)), ...(await measureSize(server, 1000, reps))];
}
