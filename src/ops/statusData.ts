/**
 * The status as data: every task with its bookkeeping, lateness and last outcome, whether a cron holds
 * the lock, and the depth of the queues the tasks drain. Shared by `itop-cron status --json`, web mode's
 * `--format json` and the metrics endpoint.
 */
import { liveLeases } from '../cluster/leases.js';
import { recentRunners } from '../cluster/runners.js';
import { taskLeaseName } from '../cluster/taskClaim.js';
import type { Config } from '../config/types.js';
import { tasksForStatus, type BackgroundTaskRow } from '../db/backgroundTasks.js';
import { lockName, lockOwner } from '../db/lock.js';
import { historySummary, isMissingTable, type RunOutcome } from '../db/runHistory.js';
import type { Db } from '../db/types.js';
import { bridgeAvailability } from '../php/openBridge.js';
import { phpTaskClasses } from '../php/phpTasks.js';
import { mailOutageStatus, type MailOutageStatus } from '../mail/outage.js';
import { loadTasks } from '../tasks/registry.js';
import type { BackgroundTask } from '../tasks/types.js';
import { parseOrUndefined, type Clock } from '../time/clock.js';

export interface TaskStatus {
  /** The registry row's id. */
  id: number;
  /** NULL in a damaged row (a failed extension install): shown, never run. */
  className: string | null;
  status: BackgroundTaskRow['status'];
  /** The row's `running` flag (informational: only the lock tells whether a cron runs). */
  running: boolean;
  firstRun: string | null;
  lastRun: string | null;
  nextRun: string | null;
  runCount: number;
  /** Seconds; null before the first run (min_run_duration holds the 99999.999 sentinel then). */
  durations: { min: number | null; max: number | null; avg: number | null; latest: number | null };
  /** An active task whose next run is in the past. */
  overdue: boolean;
  /** now − next run, in seconds, when overdue; 0 otherwise. */
  latenessSeconds: number;
  /** False for rows of classes nothing here can run (runner `none`). */
  handled: boolean;
  /** Who runs the class: itop-cron's own code, iTop's PHP through the bridge, or nothing. */
  runner: Runner;
  /** Why the runner is `none`. */
  noRunnerReason?: string;
  /** Cluster mode: the runner (`host:pid`) holding the task's lease right now. */
  runningOn?: string;
  lastOutcome: RunOutcome | null;
  lastMessage: string | null;
  lastSuccess: string | null;
  systemUser: string;
}

/** Row counts; null when the table does not exist (module not installed). */
export interface QueueDepths {
  asyncPlanned: number | null;
  asyncError: number | null;
  expiredInlineImages: number | null;
  expiredAttachments: number | null;
}

export interface CronState {
  /** True when some connection holds the cron lock (itop-cron or PHP's cron.php). */
  running: boolean;
  lockName: string;
  /** IS_USED_LOCK: the server connection id holding the lock. */
  lockConnectionId: number | null;
  /** That connection as PROCESSLIST shows it, when visible to this database user. */
  lockHolder: { user: string; host: string; seconds: number } | null;
  /** The most recent latest_run_date of any task. */
  lastRun: string | null;
  lastRunAgeSeconds: number | null;
}

export interface StatusReport {
  /** iTop-local now. */
  generatedAt: string;
  timezone: string;
  database: string;
  prefix: string;
  cron: CronState;
  tasks: TaskStatus[];
  queues: QueueDepths;
  /** The mail server outage ExecAsyncTask is waiting out (src/mail/outage.ts); null when none is known. */
  mailOutage: MailOutageStatus | null;
  /** Cluster mode's runners and leases (src/cluster/); null when `itop_cron.cluster` is off. */
  cluster: ClusterStatus | null;
}

/** A runner of cluster mode, as the status shows it. */
export interface RunnerStatus {
  /** `host:pid`. */
  runner: string;
  id: string;
  version: string;
  started: string;
  heartbeat: string;
  heartbeatAgeSeconds: number;
  /** Heartbeat younger than the lease TTL, and not stopped. */
  alive: boolean;
  stopped: string | null;
}

export interface ClusterStatus {
  ttlSeconds: number;
  renewSeconds: number;
  /** The runners seen in the last hour, alive ones first. */
  runners: RunnerStatus[];
  /** Who holds which lease now (`task:<class>`, `resync`, `maintenance`). */
  leases: Array<{ name: string; runner: string; epoch: number; expiresInSeconds: number }>;
}

/** How long a stopped or dead runner stays in the status. */
const RUNNERS_SHOWN_SECONDS = 3600;

/** `host:pid` of a runner id (`host:pid:random`). */
const runnerLabel = (id: string): string => id.replace(/:[0-9a-f]+$/, '');

/** Each task whose lease is held now, with its holder. */
function withLeaseHolders(tasks: TaskStatus[], cluster: ClusterStatus | null): TaskStatus[] {
  if (cluster === null) return tasks;
  const holders = new Map(cluster.leases.map((l) => [l.name, l.runner]));
  for (const t of tasks) {
    const on = t.className === null ? undefined : holders.get(taskLeaseName(t.className));
    if (on !== undefined) t.runningOn = on;
  }
  return tasks;
}

/** Cluster mode's part of the status, or null when it is off. */
async function clusterStatus(db: Db, config: Config): Promise<ClusterStatus | null> {
  const settings = config.cluster;
  if (settings === undefined) return null;
  const runners = (await recentRunners(db, RUNNERS_SHOWN_SECONDS)).map((r) => ({
    runner: `${r.host}:${r.pid}`,
    id: r.id,
    version: r.version,
    started: r.started,
    heartbeat: r.heartbeat,
    heartbeatAgeSeconds: Math.round(r.heartbeatAge * 10) / 10,
    alive: r.stopped === null && r.heartbeatAge <= settings.ttlSeconds,
    stopped: r.stopped,
  }));
  runners.sort((a, b) => Number(b.alive) - Number(a.alive));
  const leases = (await liveLeases(db)).map((l) => ({ name: l.name, runner: runnerLabel(l.owner), epoch: l.epoch, expiresInSeconds: Math.round(l.expiresInSeconds * 10) / 10 }));
  return { ttlSeconds: settings.ttlSeconds, renewSeconds: settings.renewSeconds, runners, leases };
}

const NO_RUN_MIN = 99999.999;

function num(v: string | number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

export type Runner = 'native' | 'php' | 'none';

function taskStatus(row: BackgroundTaskRow, clock: Clock, runner: Runner): TaskStatus {
  const nowMs = clock.nowMs();
  const runCount = Number(row.total_exec_count ?? 0);
  const ran = runCount > 0;
  const min = num(row.min_run_duration);
  // Paused and removed rows are never run, so they are never late.
  // A date that does not parse (a zero date in a damaged row) is shown as stored and never judged.
  const dueMs = row.status === 'active' ? parseOrUndefined(clock, row.next_run_date) : undefined;
  const overdue = dueMs !== undefined && dueMs <= nowMs;
  const lateness = overdue ? Math.floor((nowMs - dueMs) / 1000) : 0;
  return {
    id: Number(row.id),
    className: row.class_name,
    status: row.status,
    running: Number(row.running) === 1,
    firstRun: row.first_run_date,
    lastRun: row.latest_run_date,
    nextRun: row.next_run_date,
    runCount,
    durations: {
      min: ran && min !== null && min < NO_RUN_MIN ? min : null,
      max: ran ? num(row.max_run_duration) : null,
      avg: ran ? num(row.average_run_duration) : null,
      latest: ran ? num(row.latest_run_duration) : null,
    },
    overdue,
    latenessSeconds: lateness,
    handled: runner !== 'none',
    runner,
    lastOutcome: null,
    lastMessage: null,
    lastSuccess: null,
    systemUser: row.system_user ?? '',
  };
}

/** A COUNT(*) that answers null when the table is missing. */
async function countOrNull(db: Db, sql: string, params: readonly string[]): Promise<number | null> {
  try {
    const rows = await db.query<{ n: number | string }>(sql, params);
    return Number(rows[0]?.n ?? 0);
  } catch (e) {
    if (isMissingTable(e)) return null;
    throw e;
  }
}

/** The backlog of the queues the built-in tasks drain (ExecAsyncTask, InlineImageGC). */
export async function queueDepths(db: Db, nowLocal: string): Promise<QueueDepths> {
  const async = `SELECT COUNT(*) AS n FROM ${db.table('priv_async_task')} WHERE status = ?`;
  const drafts = (table: string): string => `SELECT COUNT(*) AS n FROM ${db.table(table)} WHERE item_id = 0 AND expire < ?`;
  return {
    asyncPlanned: await countOrNull(db, async, ['planned']),
    asyncError: await countOrNull(db, async, ['error']),
    expiredInlineImages: await countOrNull(db, drafts('inline_image'), [nowLocal]),
    expiredAttachments: await countOrNull(db, drafts('attachment'), [nowLocal]),
  };
}

/** Who holds the cron lock, from any connection (IS_USED_LOCK, then PROCESSLIST for the details). */
export async function cronLockState(db: Db, config: Config): Promise<Pick<CronState, 'running' | 'lockName' | 'lockConnectionId' | 'lockHolder'>> {
  const name = lockName('cron', config.db.name, config.db.prefix);
  const owner = await lockOwner(db, name);
  let holder: CronState['lockHolder'] = null;
  if (owner !== null) {
    const p = await db.query<{ user: string; host: string; time: number | string }>(
      'SELECT USER AS user, HOST AS host, TIME AS time FROM information_schema.PROCESSLIST WHERE ID = ?',
      [owner],
    );
    if (p[0] !== undefined) holder = { user: p[0].user, host: p[0].host, seconds: Number(p[0].time) };
  }
  return { running: owner !== null, lockName: name, lockConnectionId: owner, lockHolder: holder };
}

/**
 * Who runs each class: native when itop-cron implements it (unless `itop_cron.php_tasks` sends it to PHP),
 * else PHP when the bridge can run here, else none. When an extension cannot be loaded, every class counts
 * as native (the run itself reports the extension).
 */
async function runnersOf(
  config: Config,
  tasks: readonly BackgroundTask[] | undefined,
  params: Readonly<Record<string, string>>,
): Promise<{ runner: (cls: string) => Runner; noRunnerReason?: string }> {
  let native: Set<string>;
  try {
    native = new Set((tasks ?? (await loadTasks(config))).filter((t) => !phpTaskClasses.has(t)).map((t) => t.className));
  } catch {
    return { runner: () => 'native' };
  }
  const php = bridgeAvailability(config, params);
  const forced = php.settings.forcedClasses;
  const viaPhp: Runner = php.reason === undefined ? 'php' : 'none';
  return {
    runner: (cls) => (native.has(cls) && !(forced.has(cls) && viaPhp === 'php') ? 'native' : viaPhp),
    ...(php.reason !== undefined ? { noRunnerReason: php.reason } : {}),
  };
}

/**
 * The whole status as plain data (JSON-ready). Reads priv_backgroundtask, the run history (when it
 * exists), the lock and the queues; takes no lock and writes nothing.
 * @param tasks the loaded tasks, when the caller has them (saves loading the extensions again).
 * @param params the command line's parameters (`--php_bin`).
 */
export async function statusJson(
  db: Db,
  config: Config,
  clock: Clock,
  tasks?: readonly BackgroundTask[],
  params: Readonly<Record<string, string>> = {},
): Promise<StatusReport> {
  const nowLocal = clock.nowLocal();
  const rows = await tasksForStatus(db, 'class_name');
  const runners = await runnersOf(config, tasks, params);
  const history = await historySummary(db);
  const list = rows.map((r) => {
    // A row without a class name (NULL) belongs to no task: nothing runs it.
    const t = taskStatus(r, clock, r.class_name === null ? 'none' : runners.runner(r.class_name));
    if (t.runner === 'none' && runners.noRunnerReason !== undefined) t.noRunnerReason = runners.noRunnerReason;
    const h = r.class_name === null ? undefined : history.get(r.class_name);
    if (h !== undefined) {
      t.lastOutcome = h.lastOutcome;
      t.lastMessage = h.lastMessage;
      t.lastSuccess = h.lastSuccess;
    }
    return t;
  });
  const cluster = await clusterStatus(db, config);
  const lastRun = rows.reduce<string | null>(
    (acc, r) => (parseOrUndefined(clock, r.latest_run_date) !== undefined && r.latest_run_date !== null && (acc === null || r.latest_run_date > acc) ? r.latest_run_date : acc),
    null,
  );
  return {
    generatedAt: nowLocal,
    timezone: config.timezone,
    database: config.db.name,
    prefix: config.db.prefix,
    cron: {
      ...(await cronLockState(db, config)),
      lastRun,
      lastRunAgeSeconds: lastRun === null ? null : Math.max(0, Math.floor((clock.nowMs() - clock.parse(lastRun)) / 1000)),
    },
    tasks: withLeaseHolders(list, cluster),
    queues: await queueDepths(db, nowLocal),
    mailOutage: await mailOutageStatus(db, clock),
    cluster,
  };
}

export interface HealthLimits {
  /** A handled, active task overdue by more than this (s) is unhealthy. */
  maxLatenessSeconds: number;
  /** No task run for more than this (s) is unhealthy. */
  maxAgeSeconds: number;
}

export interface Health {
  ok: boolean;
  problems: string[];
}

/** Judges a report: overdue tasks and a cron that stopped running, one readable line per problem. */
export function evaluateHealth(report: StatusReport, limits: HealthLimits): Health {
  const problems: string[] = [];
  for (const t of report.tasks) {
    if (t.runner === 'none' && t.status === 'active') {
      problems.push(`${t.className ?? `registry row #${t.id} (class_name NULL)`} has no runner: ${t.noRunnerReason ?? 'itop-cron cannot run it'}`);
      continue;
    }
    if (t.handled && t.overdue && t.latenessSeconds > limits.maxLatenessSeconds) {
      problems.push(`${t.className} is overdue by ${t.latenessSeconds}s (next run ${t.nextRun ?? ''}, limit ${limits.maxLatenessSeconds}s)`);
    }
  }
  // Mails are no longer failed while the server is down (they wait): a long outage is the alarm instead.
  const mail = report.mailOutage;
  if (mail !== null && mail.durationSeconds > limits.maxLatenessSeconds) {
    problems.push(`the mail server has been unreachable for ${mail.durationSeconds}s (since ${mail.since}, limit ${limits.maxLatenessSeconds}s)`);
  }
  const age = report.cron.lastRunAgeSeconds;
  const cluster = report.cluster;
  if (cluster !== null && !cluster.runners.some((r) => r.alive)) {
    problems.push(`no itop-cron runner is alive (cluster mode: no heartbeat in the last ${cluster.ttlSeconds}s)`);
  }
  if (age === null) problems.push('no task has ever run');
  else if (age > limits.maxAgeSeconds) {
    problems.push(`no task has run for ${age}s (last run ${report.cron.lastRun ?? ''}, limit ${limits.maxAgeSeconds}s)`);
  }
  return { ok: problems.length === 0, problems };
}
