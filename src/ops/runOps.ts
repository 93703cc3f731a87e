/**
 * Everything that watches a cron run, behind one RunObserver: the run history, the metrics endpoint, the
 * dead man's switch pings and the failure mail. Built by the CLI (and web mode) and handed to runCron;
 * nothing here can fail a run (the scheduler calls the hooks through notifyObserver, and each part
 * catches its own errors so that one failing part does not silence the others).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { failureStreak, type RunHistoryRow } from '../db/runHistory.js';
import type { Db } from '../db/types.js';
import { coerceError } from '../errors.js';
import type { RunEnd, RunObserver, TaskRunEvent } from '../scheduler/observer.js';
import type { BackgroundTask } from '../tasks/types.js';
import type { Clock } from '../time/clock.js';
import type { FailureAlerter } from './failureMail.js';
import { createHistoryRecorder } from './history.js';
import type { CronMetrics, MetricsServer } from './metrics.js';
import { createPinger } from './pings.js';
import { opsSettings, type OpsSettings } from './settings.js';
import { statusJson } from './statusData.js';

export interface RunOpsOptions {
  readonly config: Config;
  readonly db: Db;
  readonly clock: Clock;
  readonly log: Logger;
  /** Command-line and parameter-file values (`ping_url`, `metrics_port` win over the settings). */
  readonly params?: Readonly<Record<string, string>>;
  /** Serve the metrics endpoint when a port is configured (default true; `task run` says false). */
  readonly serveMetrics?: boolean;
  /** The loaded tasks, for the status data behind the metrics. */
  readonly tasks?: readonly BackgroundTask[];
  /** Settings already read (default: read from config and params). */
  readonly settings?: OpsSettings;
  /** Metrics to feed with the task runs (web mode serving its own /metrics); default: created with the endpoint. */
  readonly metrics?: CronMetrics;
}

export interface RunOps {
  readonly observer: RunObserver;
  readonly settings: OpsSettings;
  /** The metrics fed by the runs: the given ones, or those of the endpoint once it started. */
  metrics(): CronMetrics | undefined;
  /** The endpoint, once started by runStarted (undefined before, or when disabled or not bindable). */
  metricsServer(): MetricsServer | undefined;
  /** Waits for queued pings and mails, closes the mail transport and the metrics endpoint. */
  close(): Promise<void>;
}

/** Runs one part of a hook; its failure is logged and the other parts go on. */
async function guarded(log: Logger, part: string, fn: () => Promise<unknown> | unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    log.warn({ part, err: coerceError(e).message }, 'run bookkeeping failed (ignored)');
  }
}

/** Kinds of run end that mean the run itself failed (a maintenance stop or the time limit do not). */
const FAILED_ENDS = new Set(['error', 'lock-lost', 'gone-away']);

/**
 * Builds the observer and its parts from the settings.
 * @throws ConfigError when an `itop_cron.*` setting (or --ping_url / --metrics_port) is malformed.
 */
export function createRunOps(opts: RunOpsOptions): RunOps {
  const { config, db, clock, log } = opts;
  const settings = opts.settings ?? opsSettings(config, opts.params ?? {});
  const history = createHistoryRecorder({ db, clock, log, settings });
  const pinger = createPinger(settings.pingTimeoutMs, log);
  // prom-client and nodemailer are loaded only when used: most runs need neither.
  let metrics = opts.metrics;
  let alerter: FailureAlerter | undefined;
  const sendAlert = async (className: string, runs: readonly RunHistoryRow[]): Promise<void> => {
    alerter ??= (await import('./failureMail.js')).createFailureAlerter({ config, log, settings });
    await alerter.send(className, runs);
  };
  const mails = new Set<Promise<unknown>>();
  const failed: string[] = [];
  let server: MetricsServer | undefined;

  const taskPing = (className: string): string | undefined => settings.taskPingUrls.get(className);

  const observer: RunObserver = {
    async runStarted() {
      failed.length = 0;
      if (settings.pingUrl !== undefined) pinger.ping(settings.pingUrl, 'start');
      if (opts.serveMetrics !== false && settings.metricsPort !== undefined && server === undefined) {
        try {
          const m = await import('./metrics.js');
          metrics ??= m.createCronMetrics(() => statusJson(db, config, clock, opts.tasks), clock, log);
          server = await m.startMetricsServer(metrics, settings.metricsHost, settings.metricsPort, log);
        } catch (e) {
          log.error({ port: settings.metricsPort, err: coerceError(e).message }, 'metrics endpoint not started (the run goes on)');
        }
      }
    },
    async taskStarted(className) {
      const url = taskPing(className);
      if (url !== undefined) pinger.ping(url, 'start');
    },
    async taskFinished(event: TaskRunEvent) {
      await guarded(log, 'history', () => history.record(event));
      await guarded(log, 'metrics', () => metrics?.observe(event));
      const ok = event.outcome === 'success';
      if (!ok) failed.push(`${event.className}: ${event.outcome}: ${event.message ?? ''}`);
      const url = taskPing(event.className);
      if (url !== undefined) pinger.ping(url, ok ? 'success' : 'fail', event.message ?? '');
      if (!ok && settings.alertEmail.length > 0) {
        await guarded(log, 'failure mail', async () => {
          // The streak is read now, right after this run was recorded; only the sending waits in the
          // background, so that an SMTP server slow to answer does not hold up the next task.
          const runs = await failureStreak(db, event.className, settings.alertAfterFailures);
          if (runs === undefined) return;
          const p = guarded(log, 'failure mail', () => sendAlert(event.className, runs)).finally(() => mails.delete(p));
          mails.add(p);
        });
      }
    },
    async runFinished(end: RunEnd) {
      if (settings.pingUrl === undefined) return;
      const bad = FAILED_ENDS.has(end.kind) || failed.length > 0;
      const lines = [`run ended: ${end.kind}${end.error !== undefined ? `: ${end.error}` : ''}`, ...failed];
      pinger.ping(settings.pingUrl, bad ? 'fail' : 'success', lines.join('\n'));
    },
  };

  return {
    observer,
    settings,
    metrics: () => metrics,
    metricsServer: () => server,
    async close() {
      await pinger.drain();
      await Promise.allSettled([...mails]);
      alerter?.close();
      await server?.close();
      server = undefined;
    },
  };
}
