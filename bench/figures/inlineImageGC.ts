/**
 * InlineImageGC on 1,000,000 draft/attached rows of which 100,000 are expired drafts: the task's rows
 * deleted per second against a plain `DELETE ... LIMIT` loop, each side on a fresh copy of the same table.
 */
import mysql from 'mysql2/promise';
import { inlineImageGC } from '../../src/tasks/InlineImageGC.js';
import type { ResultRow } from '../lib/report.js';
import type { BenchDb, BenchServer } from '../lib/server.js';
import { median } from '../lib/stats.js';
import { benchTaskContext } from '../lib/taskContext.js';

const TOTAL = 1_000_000;
/** One row in ten is an expired draft; one in ten a draft not yet expired; the rest are attached. */
const EXPIRED = TOTAL / 10;
/** The floor's batch: the same as the task's. */
const FLOOR_BATCH = 500;

/** The template, built once with the Sequence engine; each repetition works on a fresh copy. */
async function buildTemplate(db: BenchDb): Promise<void> {
  await db.execute('CREATE TABLE inline_image_tpl LIKE inline_image');
  await db.execute(
    'INSERT INTO inline_image_tpl (id, expire, temp_id, item_class, item_id, item_org_id, contents_data, ' +
      'contents_mimetype, contents_filename, contents_downloads_count, secret) ' +
      'SELECT seq, ' +
      "CASE WHEN seq % 10 = 1 THEN UTC_TIMESTAMP() + INTERVAL 1 DAY ELSE UTC_TIMESTAMP() - INTERVAL 1 DAY - INTERVAL (seq % 86400) SECOND END, " +
      "IF(seq % 10 <= 1, CONCAT('tmp', seq), ''), IF(seq % 10 <= 1, '', 'UserRequest'), IF(seq % 10 <= 1, 0, seq), 1, " +
      "REPEAT('x', 256), 'image/png', CONCAT('img', seq, '.png'), 0, LPAD(HEX(seq % 16777216), 6, '0') " +
      `FROM seq_1_to_${TOTAL}`,
  );
}

async function freshCopy(db: BenchDb): Promise<void> {
  await db.execute('DROP TABLE IF EXISTS inline_image');
  await db.execute('CREATE TABLE inline_image LIKE inline_image_tpl');
  await db.execute('INSERT INTO inline_image SELECT * FROM inline_image_tpl');
}

async function checkDone(db: BenchDb, side: string): Promise<void> {
  const [left] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM inline_image WHERE item_id = 0 AND expire < UTC_TIMESTAMP()");
  const [all] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM inline_image');
  if (Number(left?.n) !== 0 || Number(all?.n) !== TOTAL - EXPIRED) {
    throw new Error(`${side}: ${left?.n} expired drafts left, ${all?.n} rows (expected 0 and ${TOTAL - EXPIRED})`);
  }
}

/** The task as the scheduler runs it; returns rows/s. */
async function runTask(db: BenchDb): Promise<number> {
  const { ctx, close } = benchTaskContext(db);
  try {
    const t = performance.now();
    const message = await inlineImageGC.process(ctx);
    const s = (performance.now() - t) / 1000;
    if (message !== `Cleaned ${EXPIRED} old temporary InlineImage(s) and 0 old temporary Attachment(s).`) {
      throw new Error(`InlineImageGC said: ${String(message)}`);
    }
    return EXPIRED / s;
  } finally {
    await close();
  }
}

/** The floor: DELETE ... LIMIT until nothing is left, on one connection; returns rows/s. */
async function runFloor(db: BenchDb): Promise<number> {
  const [host, port] = db.settings.host.split(':');
  const conn = await mysql.createConnection({
    host, port: Number(port), user: db.settings.user, password: db.settings.password, database: db.name, dateStrings: true,
  });
  try {
    const limit = new Date().toISOString().slice(0, 19).replace('T', ' ');
    const t = performance.now();
    let removed = 0;
    for (;;) {
      const [r] = await conn.query<mysql.ResultSetHeader>(
        `DELETE FROM inline_image WHERE item_id = 0 AND expire < ? LIMIT ${FLOOR_BATCH}`, [limit],
      );
      removed += r.affectedRows;
      if (r.affectedRows < FLOOR_BATCH) break;
    }
    return removed / ((performance.now() - t) / 1000);
  } finally {
    await conn.end();
  }
}

/** `reps` repetitions of each side, alternated, each on a fresh copy. */
export async function inlineImageGCFigures(server: BenchServer, reps: number): Promise<ResultRow[]> {
  const db = await server.createDb('gc');
  try {
    await buildTemplate(db);
    const task: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < reps; i++) {
      await freshCopy(db);
      floor.push(await runFloor(db));
      await checkDone(db, 'floor');
      await freshCopy(db);
      task.push(await runTask(db));
      await checkDone(db, 'InlineImageGC');
      process.stderr.write(`#   gc rep ${i + 1}: task ${task.at(-1)?.toFixed(0)} rows/s, floor ${floor.at(-1)?.toFixed(0)} rows/s\n`);
    }
    const t = median(task);
    const f = median(floor);
    return [
      {
        figure: 'InlineImageGC: 100,000 expired drafts among 1,000,000 rows',
        value: `${t.toFixed(0)} rows/s`, floor: `${f.toFixed(0)} rows/s`, ratio: t / f,
        target: '≥ 0.5×', pass: t / f >= 0.5,
      },
    ];
  } finally {
    await db.drop();
  }
}
