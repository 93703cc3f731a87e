/**
 * One long run of the built CLI with every standard task and steady work fed while it runs (e-mails
 * queued, drafts expiring, tickets reaching their SLA), BENCH_MINUTES long: the lateness of task starts
 * (actual start − next_run_date, from the `task run` log lines) and the RSS over time (/proc, every second).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { queueMail } from '../../src/mail/queue.js';
import { startSmtpSink } from '../../test/helpers/smtpSink.js';
import { cronCommand, cronEnv } from '../lib/cron.js';
import { makeItopRoot } from '../lib/itopRoot.js';
import { memoryKiB, startChild } from '../lib/proc.js';
import { mib, type ResultRow } from '../lib/report.js';
import type { BenchDb, BenchServer } from '../lib/server.js';
import { percentile } from '../lib/stats.js';
import { benchTaskContext, type BenchTaskContext } from '../lib/taskContext.js';
import { buildTickets, INDEXES, makeTicketsDue } from '../lib/tickets.js';

const CRON_SLEEP = 2;
const RSS_LIMIT_KIB = 80 * 1024;
/** Allowed difference between the last minute's and the 2nd minute's peak RSS (GC noise). */
const GROWTH_TOLERANCE_KIB = 2 * 1024;

interface TaskRun { readonly task: string; readonly latenessMs: number }

/** What the feeder added while the run lasted. */
interface Fed { mails: number; drafts: number; tickets: number }

/** Every second: 2 e-mails queued, 5 drafts expiring; every 10 s: 5 tickets reaching TTO 100 %. */
async function feed(db: BenchDb, t: BenchTaskContext, until: number, fed: Fed): Promise<void> {
  for (let tick = 0; Date.now() < until; tick++) {
    const next = Date.now() + 1000;
    for (let i = 0; i < 2; i++) {
      fed.mails++;
      await queueMail(t.ctx, {
        from: { address: 'itop@example.com', label: 'iTop' }, to: 'user1@example.com', subject: `Steady mail #${fed.mails}`,
        body: { body: '<p>Ticket R-000123 has been assigned to your team.</p>', mimeType: 'text/html' },
      });
    }
    await db.execute(
      "INSERT INTO inline_image (expire, temp_id, item_class, item_id, contents_data, contents_mimetype, contents_filename) " +
        "SELECT UTC_TIMESTAMP() - INTERVAL 1 SECOND, CONCAT('tmp', seq), '', 0, REPEAT('x', 2048), 'image/png', 'paste.png' FROM seq_1_to_5",
    );
    fed.drafts += 5;
    if (tick % 10 === 0) {
      await makeTicketsDue(db, 5);
      fed.tickets += 5;
    }
    await sleep(Math.max(0, next - Date.now()));
  }
}

/** The `task run` lines planned after `sinceMs`: lateness = start (log time − duration) − planned. */
function taskRuns(stderr: string, sinceMs: number): TaskRun[] {
  const runs: TaskRun[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.includes('"task run"')) continue;
    const r = JSON.parse(line) as { msg: string; task: string; planned: string; duration: number; time: number };
    const planned = Date.parse(`${r.planned.replace(' ', 'T')}Z`);
    if (r.msg !== 'task run' || planned < sinceMs) continue;
    runs.push({ task: r.task, latenessMs: r.time - r.duration * 1000 - planned });
  }
  return runs;
}

/** The peak RSS of each whole minute of the run (KiB), from one sample per second; shutdown is left out. */
function perMinutePeaks(samples: readonly (readonly [number, number])[], seconds: number): number[] {
  const peaks: number[] = [];
  for (const [sec, kib] of samples) {
    const m = Math.floor(sec / 60);
    if (m >= Math.max(1, Math.floor(seconds / 60))) continue;
    peaks[m] = Math.max(peaks[m] ?? 0, kib);
  }
  return peaks;
}

/** Runs the CLI for `minutes` and returns the lateness and RSS rows. */
export async function longRunFigures(server: BenchServer, minutes: number): Promise<{ rows: ResultRow[]; notes: string[] }> {
  const db = await server.createDb('long');
  const sink = await startSmtpSink();
  const t = benchTaskContext(db);
  try {
    await buildTickets(db, 10_000);
    await db.execute(`ALTER TABLE ticket_request ${INDEXES}`);
    const root = makeItopRoot(db, {
      email_transport: 'SMTP', 'email_transport_smtp.host': sink.host, 'email_transport_smtp.port': sink.port,
    });
    const seconds = Math.round(minutes * 60);
    const started = Date.now();
    const [cmd, args] = cronCommand();
    const cron = startChild(cmd, args, {
      // At debug: since the default info level logs one summary line per run (src/scheduler/runSummary.ts),
      // the per-task `task run` lines the lateness is read from are debug lines.
      env: cronEnv(db, { ITOP_ROOT: root, ITOP_CRON_MAX_EXECUTION_TIME: String(seconds), ITOP_CRON_SLEEP: String(CRON_SLEEP), ITOP_CRON_LOG_LEVEL: 'debug' }),
    });
    const fed: Fed = { mails: 0, drafts: 0, tickets: 0 };
    const feeding = feed(db, t, started + seconds * 1000 - 5000, fed);
    const samples: [number, number][] = [];
    let hwm = 0;
    let exited = false;
    void cron.done.then(() => (exited = true));
    while (!exited) {
      const m = memoryKiB(cron.pid);
      if (!Number.isNaN(m.rss)) samples.push([(Date.now() - started) / 1000, m.rss]);
      if (!Number.isNaN(m.hwm)) hwm = Math.max(hwm, m.hwm);
      await sleep(1000);
    }
    await feeding;
    const out = await cron.done;
    if (out.code !== 0) throw new Error(`the long run exited with ${out.code}: ${out.stdout.slice(-500)} ${out.stderr.slice(-1000)}`);

    // BENCH_LOG_DIR keeps the run's log for a closer look (which task was late, and why).
    const logDir = process.env['BENCH_LOG_DIR'];
    if (logDir !== undefined && logDir !== '') writeFileSync(join(logDir, 'long-run.log'), out.stderr);
    const runs = taskRuns(out.stderr, started);
    const late = runs.map((r) => r.latenessMs);
    const p99 = percentile(late, 99);
    const worst = [...runs].sort((a, b) => b.latenessMs - a.latenessMs).slice(0, 3);
    const peaks = perMinutePeaks(samples, seconds);
    const second = peaks[1] ?? Number.NaN;
    const last = peaks[peaks.length - 1] ?? Number.NaN;
    const growth = last - second;
    const [left] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM priv_async_task');
    const [escalated] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM ticket_request WHERE status = 'escalated_tto'");
    const limitMs = CRON_SLEEP * 1000 + 100;
    const rows: ResultRow[] = [
      {
        figure: `Lateness of task starts, p99 (${minutes} min, all standard tasks, ${runs.length} runs)`,
        value: `${p99.toFixed(0)} ms`, floor: `${CRON_SLEEP * 1000} ms (cron_sleep)`, ratio: p99 / (CRON_SLEEP * 1000),
        target: `p99 ≤ cron_sleep + 100 ms`, pass: p99 <= limitMs,
      },
      {
        figure: `Peak RSS over the ${minutes} min run with steady work`,
        value: mib(hwm), floor: '—', ratio: Number.NaN, target: '≤ 80 MiB', pass: hwm <= RSS_LIMIT_KIB,
      },
      {
        figure: `RSS growth, peak of minute ${peaks.length} − peak of minute 2`,
        value: Number.isNaN(growth) ? '—' : `${(growth / 1024).toFixed(1)} MiB`, floor: '—', ratio: Number.NaN,
        target: 'no growth (≤ 2 MiB of GC noise)', pass: Number.isNaN(growth) ? undefined : growth <= GROWTH_TOLERANCE_KIB,
      },
    ];
    return {
      rows,
      notes: [
        `Lateness p50 ${percentile(late, 50).toFixed(0)} ms, p90 ${percentile(late, 90).toFixed(0)} ms, max ${Math.max(...late).toFixed(0)} ms; worst: ${worst.map((w) => `${w.task} ${w.latenessMs.toFixed(0)} ms`).join(', ')}.`,
        `Per-minute RSS peaks: ${peaks.map((k) => (k / 1024).toFixed(1)).join(', ')} MiB.`,
        `Steady work fed: ${fed.mails} e-mails (${sink.messages.length} received, ${left?.n} left queued), ${fed.drafts} expiring drafts, ${fed.tickets} tickets due (${escalated?.n} escalated).`,
      ],
    };
  } finally {
    await t.close();
    await sink.close();
    await db.drop();
  }
}
