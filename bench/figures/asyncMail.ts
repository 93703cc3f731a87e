/**
 * ExecAsyncTask draining 10,000 queued V2 e-mails into a local SMTP sink through the built CLI, against
 * nodemailer sending the same messages over one pooled connection without a database. Both rates are
 * taken at the sink (first to last message received), so start-up is left out of both.
 */
import { queueMail } from '../../src/mail/queue.js';
import { builtInTasks } from '../../src/tasks/registry.js';
import { startSmtpSink, type SmtpSink } from '../../test/helpers/smtpSink.js';
import { cronCommand, cronEnv, floorCommand, floorEnv, seedRegistry } from '../lib/cron.js';
import { makeItopRoot } from '../lib/itopRoot.js';
import { startChild, type LiveChild } from '../lib/proc.js';
import type { ResultRow } from '../lib/report.js';
import type { BenchDb, BenchServer } from '../lib/server.js';
import { median } from '../lib/stats.js';
import { benchTaskContext } from '../lib/taskContext.js';

/** The body of every message, the reference's (async-email-C-queued.sql) padded to a typical notification size. */
const BODY = `<p>Hello from the async email queue</p>${'<p>Ticket R-000123 has been assigned to your team.</p>'.repeat(20)}`;

/** Queues `count` messages with the product's queue module, as a notification would. */
async function queueAll(db: BenchDb, count: number): Promise<void> {
  const { ctx, close } = benchTaskContext(db);
  try {
    const CHUNK = 8;
    for (let i = 1; i <= count; i += CHUNK) {
      const batch = [];
      for (let j = i; j < i + CHUNK && j <= count; j++) {
        batch.push(queueMail(ctx, {
          from: { address: 'itop@example.com', label: 'iTop' }, to: 'user1@example.com', subject: `Bench mail #${j}`,
          body: { body: BODY, mimeType: 'text/html' },
        }));
      }
      await Promise.all(batch);
    }
  } finally {
    await close();
  }
}

/** Messages per second between the first and the last message received; kills `child` afterwards. */
async function rateAtSink(sink: SmtpSink, child: LiveChild, count: number): Promise<number> {
  const died = child.done.then((r) => {
    throw new Error(`sender exited (${r.code}) before ${count} messages arrived: ${r.stdout.slice(0, 400)} ${r.stderr.slice(-800)}`);
  });
  try {
    await Promise.race([sink.waitForMessages(1), died]);
    const t0 = performance.now();
    await Promise.race([sink.waitForMessages(count), died]);
    const t1 = performance.now();
    return (count - 1) / ((t1 - t0) / 1000);
  } finally {
    child.kill();
    await child.done.catch(() => undefined);
    died.catch(() => undefined);
  }
}

function checkMessages(sink: SmtpSink, count: number, side: string): void {
  const subjects = new Set(sink.messages.map((m) => m.parsed.subject));
  if (sink.messages.length !== count || subjects.size !== count || !subjects.has(`Bench mail #${count}`)) {
    throw new Error(`${side}: ${sink.messages.length} messages, ${subjects.size} distinct subjects (expected ${count})`);
  }
}

/** `reps` alternated runs of both sides with `count` messages each. */
export async function asyncMailFigures(server: BenchServer, reps: number, count = 10_000): Promise<ResultRow[]> {
  const db = await server.createDb('mail');
  const sink = await startSmtpSink();
  try {
    // Only ExecAsyncTask is due: the other tasks are planned for 2030.
    const tasks = builtInTasks();
    await seedRegistry(db, tasks.filter((t) => t.className !== 'ExecAsyncTask'), '2030-01-01 00:00:00');
    await seedRegistry(db, tasks.filter((t) => t.className === 'ExecAsyncTask'), '2000-01-01 00:00:00');
    const root = makeItopRoot(db, {
      email_transport: 'SMTP', 'email_transport_smtp.host': sink.host, 'email_transport_smtp.port': sink.port,
    });
    const product: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < reps; i++) {
      await queueAll(db, count);
      sink.messages.splice(0);
      const [cmd, args] = cronCommand();
      const cron = startChild(cmd, args, { env: cronEnv(db, { ITOP_ROOT: root, ITOP_CRON_MAX_EXECUTION_TIME: '900' }) });
      product.push(await rateAtSink(sink, cron, count));
      checkMessages(sink, count, 'itop-cron');
      const [left] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM priv_async_task');
      if (Number(left?.n) !== 0) throw new Error(`${left?.n} async tasks left after the run`);
      await db.execute("UPDATE priv_backgroundtask SET next_run_date = '2000-01-01 00:00:00' WHERE class_name = 'ExecAsyncTask'");

      sink.messages.splice(0);
      const [fcmd, fargs] = floorCommand('mail');
      const f = startChild(fcmd, fargs, {
        env: floorEnv(db, { BENCH_SMTP_HOST: sink.host, BENCH_SMTP_PORT: String(sink.port), BENCH_COUNT: String(count), BENCH_BODY: BODY }),
      });
      floor.push(await rateAtSink(sink, f, count));
      checkMessages(sink, count, 'floor');
      sink.messages.splice(0);
      process.stderr.write(`#   mail rep ${i + 1}: itop-cron ${product.at(-1)?.toFixed(0)}/s, floor ${floor.at(-1)?.toFixed(0)}/s\n`);
    }
    const p = median(product);
    const f = median(floor);
    return [
      {
        figure: `ExecAsyncTask: ${count.toLocaleString('en-US')} queued V2 e-mails to an SMTP sink`,
        value: `${p.toFixed(0)} mails/s`, floor: `${f.toFixed(0)} mails/s`, ratio: p / f, target: '≥ 0.5×', pass: p / f >= 0.5,
      },
    ];
  } finally {
    await sink.close();
    await db.drop();
  }
}

