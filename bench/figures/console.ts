/**
 * The web console's main page (src/http/console/) with 50 tasks and 100,000 run history rows: the time to
 * build it (every query and the rendering, in the server process, median) and its size; and, informative,
 * a whole `GET /` through HTTP, which adds the administrator's bcrypt check of every request.
 */
import { loadConfig } from '../../src/config/load.js';
import { openDb } from '../../src/db/connect.js';
import { historyTableDdl } from '../../src/db/runHistory.js';
import { basicAuthHeader } from '../../src/http/basicAuth.js';
import { createCsrf } from '../../src/http/console/csrf.js';
import { createLiveOutput } from '../../src/http/console/live.js';
import { renderMain, type ConsoleContext } from '../../src/http/console/routes.js';
import { FailureLimiter } from '../../src/http/rateLimit.js';
import { startServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/output/logger.js';
import { builtInTasks } from '../../src/tasks/registry.js';
import { createClock } from '../../src/time/clock.js';
import { seedRegistry } from '../lib/cron.js';
import type { ResultRow } from '../lib/report.js';
import { ADMIN, type BenchServer } from '../lib/server.js';
import { median } from '../lib/stats.js';

const TASKS = 50;
const HISTORY_ROWS = 100_000;
const TIME_LIMIT_MS = 50;
const SIZE_LIMIT = 100 * 1024;

export async function consoleFigures(server: BenchServer, reps: number): Promise<ResultRow[]> {
  const db = await server.createDb('console');
  try {
    const tasks = builtInTasks();
    await seedRegistry(db, tasks, '2030-01-01 00:00:00', TASKS - tasks.length);
    const names = (await db.query<{ class_name: string }>('SELECT class_name FROM priv_backgroundtask')).map((r) => r.class_name);
    await db.execute(historyTableDdl(''));
    const start = Date.now() - 20 * 86_400_000;
    for (let i = 0; i < HISTORY_ROWS; i += 2000) {
      const values: (string | number)[] = [];
      for (let j = i; j < i + 2000; j++) {
        const at = new Date(start + j * 1000).toISOString().slice(0, 19).replace('T', ' ');
        values.push(names[j % names.length] ?? '', at, at, at, ((j % 97) / 10).toFixed(3), j % 13 === 0 ? 'failure' : 'success', `run ${j}: cleaned ${j % 50} items`);
      }
      await db.execute(
        'INSERT INTO itop_cron_run_history (class_name, planned, started, ended, duration, outcome, message, host) VALUES ' +
          Array.from({ length: 2000 }, () => "(?, ?, ?, ?, ?, ?, ?, 'bench')").join(', '),
        values,
      );
    }
    await db.execute('ANALYZE TABLE itop_cron_run_history');
    const config = loadConfig({ raw: {}, env: { ...db.env, ITOP_TIMEZONE: 'Europe/Paris' }, cwd: process.cwd() });
    const pool = openDb(config.db);
    const loaded = tasks;
    const ctx: ConsoleContext = {
      config, db: pool, log: silentLogger(), clock: createClock(config.timezone), tasks: loaded, params: {},
      limiter: new FailureLimiter(), loginFailureDelayMs: 0, track: () => () => undefined, csrf: createCsrf(), live: createLiveOutput(),
    };
    const http = await startServer({ config, db: pool, log: silentLogger(), tasks: loaded, loginFailureDelayMs: 0 });
    try {
      const times: number[] = [];
      const whole: number[] = [];
      let size = 0;
      const auth = { headers: { Authorization: basicAuthHeader(ADMIN.login, ADMIN.password) } };
      for (let i = 0; i <= Math.max(reps, 5) * 2; i++) {
        const t = performance.now();
        const html = await renderMain(ctx, ADMIN.login);
        const ms = performance.now() - t;
        size = Buffer.byteLength(html);
        const t2 = performance.now();
        const res = await fetch(`${http.url}/`, auth);
        if (res.status !== 200) throw new Error(`GET / answered ${res.status}`);
        await res.text();
        const ms2 = performance.now() - t2;
        if (i === 0) continue;
        times.push(ms);
        whole.push(ms2);
      }
      const t = median(times);
      return [
        { figure: `console main page, ${TASKS} tasks, ${HISTORY_ROWS.toLocaleString('en')} history rows: server time`, value: `${t.toFixed(1)} ms`, floor: '—', ratio: Number.NaN, target: `≤ ${TIME_LIMIT_MS} ms`, pass: t <= TIME_LIMIT_MS },
        { figure: 'console main page: size', value: `${(size / 1024).toFixed(1)} KB`, floor: '—', ratio: Number.NaN, target: '≤ 100 KB', pass: size <= SIZE_LIMIT },
        { figure: 'console GET / through HTTP with the bcrypt cost 10 login', value: `${median(whole).toFixed(0)} ms`, floor: '—', ratio: Number.NaN, target: '(informative)', pass: undefined },
      ];
    } finally {
      await http.stop(0);
      await pool.close();
    }
  } finally {
    await db.drop();
  }
}
