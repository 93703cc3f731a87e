// The floor of an idle pass: one indexed SELECT of the due tasks every BENCH_SLEEP seconds, for
// BENCH_SECONDS, on one mysql2 connection. Prints its connection id first so that the general log can
// tell its statements apart.
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectFloor } from './connect.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const pause = Number(process.env.BENCH_SLEEP ?? 2) * 1000;
const conn = await connectFloor();
const [[{ id }]] = await conn.query('SELECT CONNECTION_ID() AS id');
process.stdout.write(`thread ${id}\n`);
const until = Date.now() + seconds * 1000;
while (Date.now() < until) {
  const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
  await conn.query(
    "SELECT id, class_name, next_run_date FROM priv_backgroundtask WHERE status = 'active' AND next_run_date <= ? ORDER BY next_run_date",
    [now],
  );
  await sleep(pause);
}
await conn.end();
