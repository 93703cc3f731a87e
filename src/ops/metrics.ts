/**
 * Prometheus metrics (prom-client, a Registry of our own, never the global one): counters and a duration
 * histogram fed by the task runs of this process, and gauges refreshed from the status data at each scrape.
 * Served by a small node:http server, bound to 127.0.0.1 unless told otherwise, while a cron runs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { coerceError } from '../errors.js';
import type { TaskRunEvent } from '../scheduler/observer.js';
import type { Clock } from '../time/clock.js';
import type { StatusReport } from './statusData.js';

export interface CronMetrics {
  readonly registry: Registry;
  /** Counts a finished task run and its duration. */
  observe(event: TaskRunEvent): void;
  /** Re-reads the gauges from the status data; a failure sets itop_cron_status_up to 0. */
  refresh(): Promise<void>;
  /** refresh() then the exposition text. */
  text(): Promise<string>;
}

/** Durations from a quick GC pass to a long backup. */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800];

/**
 * The metrics of one process. `source` gives the status data (statusJson bound to the database).
 */
export function createCronMetrics(source: () => Promise<StatusReport>, clock: Clock, log: Logger): CronMetrics {
  const registry = new Registry();
  const registers = [registry];
  const runs = new Counter({ name: 'itop_cron_task_runs_total', help: 'Task runs by task and outcome (this process)', labelNames: ['task', 'outcome'], registers });
  const duration = new Histogram({ name: 'itop_cron_task_duration_seconds', help: 'Task run duration', labelNames: ['task'], buckets: DURATION_BUCKETS, registers });
  const lateness = new Gauge({ name: 'itop_cron_task_lateness_seconds', help: 'now - next_run_date of an overdue active task, 0 otherwise', labelNames: ['task'], registers });
  const lastSuccess = new Gauge({ name: 'itop_cron_task_last_success_timestamp_seconds', help: 'End of the last successful run (Unix time)', labelNames: ['task'], registers });
  const runCount = new Gauge({ name: 'itop_cron_task_run_count', help: 'total_exec_count of priv_backgroundtask', labelNames: ['task'], registers });
  const queue = new Gauge({ name: 'itop_cron_queue_depth', help: 'Rows waiting: async tasks planned/in error, expired drafts', labelNames: ['queue'], registers });
  const lockHeld = new Gauge({ name: 'itop_cron_lock_held', help: '1 when a cron (itop-cron or cron.php) holds the cron lock', registers });
  const lastRunAge = new Gauge({ name: 'itop_cron_last_run_age_seconds', help: 'Seconds since the latest task run of any task', registers });
  const mailUp = new Gauge({ name: 'itop_cron_mail_server_reachable', help: '0 while ExecAsyncTask waits out a mail server outage (mails kept queued), 1 otherwise', registers });
  const mailDown = new Gauge({ name: 'itop_cron_mail_outage_seconds', help: 'Seconds since the mail server outage began, 0 when there is none', registers });
  const up = new Gauge({ name: 'itop_cron_status_up', help: '1 when the status could be read from the database at this scrape', registers });
  // Successes seen by this process, in case the history table cannot be read.
  const seen = new Map<string, number>();

  const refresh = async (): Promise<void> => {
    let report: StatusReport;
    try {
      report = await source();
    } catch (e) {
      up.set(0);
      log.warn({ err: coerceError(e).message }, 'metrics: the status could not be read');
      return;
    }
    up.set(1);
    for (const g of [lateness, lastSuccess, runCount, queue]) g.reset();
    for (const t of report.tasks) {
      // A damaged row without a class name is no task: nothing to label a series with.
      if (t.className === null) continue;
      lateness.set({ task: t.className }, t.latenessSeconds);
      runCount.set({ task: t.className }, t.runCount);
      const fromDb = t.lastSuccess === null ? 0 : clock.parse(t.lastSuccess) / 1000;
      const best = Math.max(fromDb, seen.get(t.className) ?? 0);
      if (best > 0) lastSuccess.set({ task: t.className }, best);
    }
    const q = report.queues;
    for (const [name, v] of [
      ['async_planned', q.asyncPlanned],
      ['async_error', q.asyncError],
      ['inline_image_expired', q.expiredInlineImages],
      ['attachment_expired', q.expiredAttachments],
    ] as const) {
      if (v !== null) queue.set({ queue: name }, v);
    }
    mailUp.set(report.mailOutage === null ? 1 : 0);
    mailDown.set(report.mailOutage?.durationSeconds ?? 0);
    lockHeld.set(report.cron.running ? 1 : 0);
    if (report.cron.lastRunAgeSeconds !== null) lastRunAge.set(report.cron.lastRunAgeSeconds);
  };

  return {
    registry,
    observe(event) {
      runs.inc({ task: event.className, outcome: event.outcome });
      duration.observe({ task: event.className }, event.durationSeconds);
      if (event.outcome === 'success') seen.set(event.className, Math.floor(event.endMs / 1000));
    },
    refresh,
    async text() {
      await refresh();
      return registry.metrics();
    },
  };
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (and `/`) on host:port. Rejects when the port cannot be bound (in use, no
 * permission): the caller logs it and the run goes on without metrics.
 */
export async function startMetricsServer(metrics: CronMetrics, host: string, port: number, log: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (e: unknown) => {
        log.warn({ err: coerceError(e).message }, 'metrics: scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  // A scrape in progress must not keep the process alive once the run is over.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.warn({ err: e.message }, 'metrics server error'));
  server.unref();
  const addr = server.address() as AddressInfo;
  log.info({ host: addr.address, port: addr.port }, 'metrics endpoint listening');
  return {
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
