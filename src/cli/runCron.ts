import type { Logger } from 'pino';
import { codeCacheState } from '../boot/codeCache.js';
import { authenticate, DEFAULT_FAILURE_DELAY_MS, type CronUser } from '../auth/authenticate.js';
import { removeDumpLeftovers } from '../tasks/backup/leftovers.js';
import type { ClusterSettings, Config, RunOptions } from '../config/types.js';
import { streamTasksForStatus } from '../db/backgroundTasks.js';
import { isLockFree, lockName, NamedLock } from '../db/lock.js';
import type { Db } from '../db/types.js';
import { coerceError, CronError, EXIT_ERROR, EXIT_FATAL, EXIT_OK } from '../errors.js';
import type { TextSink } from '../output/stdout.js';
import { missingArgumentLines, stampLine, STATUS_FOOT, STATUS_HEAD, statusLine } from '../output/text.js';
import type { CronExit } from '../scheduler/cronExec.js';
import { observeRun, type RunObserver } from '../scheduler/observer.js';
import { runTally } from '../scheduler/runSummary.js';
import type { RunEnv } from '../scheduler/runEnv.js';
import type { BackgroundTask } from '../tasks/types.js';
import type { Clock } from '../time/clock.js';
import type { ClusterMember } from '../cluster/member.js';

/** What one cron execution needs once arguments and configuration are read. */
export interface CronInvocation {
  readonly options: RunOptions;
  readonly config: Config;
  readonly db: Db;
  readonly clock: Clock;
  readonly log: Logger;
  readonly out: TextSink;
  readonly signal: AbortSignal;
  /** Tasks to run; loaded from the configuration when omitted. */
  readonly tasks?: readonly BackgroundTask[];
  /** Failed logins wait this long (ms). */
  readonly loginFailureDelayMs?: number;
  /**
   * The user, when the caller authenticated it already (web mode maps auth errors to HTTP statuses);
   * the credential check is then skipped and `options.authUser`/`authPwd` are not read.
   */
  readonly user?: CronUser;
  /** History, metrics, pings and alerts (src/ops/runOps.ts createRunOps); their failures never fail the run. */
  readonly observer?: RunObserver;
}

/** The usage block when auth_user or auth_pwd is missing, exit 254. */
function requireCredentials(options: RunOptions, out: TextSink): { user: string; pwd: string } | undefined {
  for (const [name, value] of [
    ['auth_user', options.authUser],
    ['auth_pwd', options.authPwd],
  ] as const) {
    if (value === undefined) {
      for (const l of missingArgumentLines(name)) out.line(l);
      return undefined;
    }
  }
  return { user: options.authUser ?? '', pwd: options.authPwd ?? '' };
}

/** About how much text one write of the status table carries: a line per write is a system call per row. */
const STATUS_CHUNK_CHARS = 64 * 1024;

/**
 * `--status_only=1`: the 6-column table by class name, no lock, no resync. Written as the rows come
 * from the server, in writes of ~64 KiB, waiting for the destination (a slow web client) to take each:
 * memory stays bounded whatever the size of the registry (issue 16: 200,000 rows held ~330 MiB).
 */
export async function printStatus(db: Db, out: TextSink): Promise<void> {
  let chunk = `${STATUS_HEAD.join('\n')}\n`;
  for await (const row of streamTasksForStatus(db, 'class_name')) {
    chunk += `${statusLine(row)}\n`;
    if (chunk.length >= STATUS_CHUNK_CHARS) {
      out.raw(chunk);
      chunk = '';
      await out.drained?.();
    }
  }
  out.raw(`${chunk}${STATUS_FOOT.join('\n')}\n`);
}

/**
 * The main section of cron.php from the credential check on, returning the
 * exit code. Errors of the main section print `ERROR: '<message>'` and keep exit code 0, as cron.php.
 */
export async function runCron(inv: CronInvocation): Promise<number> {
  const { options, config, db, clock, log, out } = inv;
  let user = inv.user;
  if (user === undefined) {
    const creds = requireCredentials(options, out);
    if (creds === undefined) return EXIT_FATAL;
    // The native bcrypt: ~50 ms less CPU than bcryptjs's first check in every run; its ~1.5 MiB more
    // resident fits a long run since the shim keeps TurboFan from inlining (bench/RESULTS.md, php, long).
    user = await authenticate(db, creds.user, creds.pwd, inv.loginFailureDelayMs ?? DEFAULT_FAILURE_DELAY_MS, 'native');
  }
  if (options.statusOnly) {
    await printStatus(db, out);
    return EXIT_OK;
  }
  const { cronExec, loadTasks, hardDeadlineGraceMs, openBridge } = await fullRunModules();
  const tasks = inv.tasks ?? (await loadTasks(config));
  // No statement of this run may outlive its hard deadline, whatever the server does (src/db/bounds.ts).
  const previousDeadline = db.deadline?.();
  db.setDeadline?.(clock.nowMs() + config.cron.maxExecutionTime * 1000 + hardDeadlineGraceMs({ params: options.raw, config }));
  out.line(stampLine('Starting', clock.nowUnix(), clock.nowLocal()));
  // Past --status_only, which must not build the logger for a line nobody asked for (src/output/logger.ts).
  log.debug({ codeCache: codeCacheState() ?? 'none' }, 'code cache');
  let lock: NamedLock | undefined;
  let exit: CronExit | undefined;
  try {
    lock = await NamedLock.open(config.db, lockName('cron', config.db.name, config.db.prefix));
    if (!(await adminWriteAllowed(config, db))) {
      out.line('A maintenance is ongoing');
    } else if (config.cluster !== undefined) {
      // Cluster mode: the leases decide who runs what; the cron lock only keeps PHP's cron.php out.
      const member = await joinCluster(inv, lock, config.cluster);
      if (member === undefined) {
        out.line('Already running...');
      } else {
        try {
          exit = await runHeld(inv, user, lock, cronExec, openBridge, tasks, member);
        } finally {
          await member.leave();
        }
      }
    } else if (!(await lock.acquire(0))) {
      out.line('Already running...');
    } else {
      log.info({ lock: lock.name, connection: lock.connectionId, user: user.login }, 'cron lock acquired');
      exit = await runHeld(inv, user, lock, cronExec, openBridge, tasks);
    }
  } catch (e) {
    const err = coerceError(e);
    out.line(`ERROR: '${err.message}'`);
    if (options.debug && err.stack !== undefined) out.line(err.stack);
    log.error({ err: err.message }, 'cron run failed');
  } finally {
    await lock?.close();
    db.setDeadline?.(previousDeadline);
  }
  return afterRun(exit, inv);
}

/**
 * The run itself, once this runner may run tasks (the cron lock held, or cluster mode joined): the PHP
 * bridge, the run's environment and the loop, with the run's tally. Returns how the loop ended.
 */
async function runHeld(
  inv: CronInvocation,
  user: CronUser,
  lock: NamedLock,
  cronExec: FullRunModules['cronExec'],
  openBridge: FullRunModules['openBridge'],
  tasks: readonly BackgroundTask[],
  member?: ClusterMember,
): Promise<CronExit | undefined> {
  const { options, config, db, log, out } = inv;
  const clock = member?.clock ?? inv.clock;
  const tally = runTally(inv.observer, () => clock.nowMs());
  cleanDumpLeftovers(log);
  const choice = openBridge(config, options.raw, user.login, log);
  if (choice.reason !== undefined) log.debug({ reason: choice.reason }, 'no PHP bridge for this run');
  const env: RunEnv = {
    db,
    config,
    clock,
    log,
    out,
    verbose: options.verbose,
    debug: options.debug,
    userId: user.id,
    params: options.raw,
    signal: inv.signal,
    observer: tally.observer,
    ...(choice.bridge !== undefined ? { php: choice.bridge } : { phpUnavailable: choice.reason }),
    ...(member !== undefined ? { cluster: member } : {}),
  };
  let exit: CronExit | undefined;
  try {
    exit = await observeRun(log, tally.observer, () => cronExec(env, tasks, lock));
  } finally {
    tally.log(log, exit?.kind ?? 'error');
    // Before the lock is released: no PHP worker of this run outlives it.
    await choice.bridge?.close();
  }
  return exit;
}

/** Cluster mode's start (src/cluster/member.ts), loaded only when it is on. */
async function joinCluster(inv: CronInvocation, lock: NamedLock, settings: ClusterSettings): Promise<ClusterMember | undefined> {
  const [{ ClusterMember }, { newRunnerIdentity }, { packageVersion }] = await Promise.all([
    import('../cluster/member.js'),
    import('../cluster/runners.js'),
    import('./version.js'),
  ]);
  return ClusterMember.join(inv.db, settings, newRunnerIdentity(), lock, inv.log, inv.clock, packageVersion());
}

/** The password folders (and any mysqldump still running) of backups whose itop-cron was killed. */
function cleanDumpLeftovers(log: CronInvocation['log']): void {
  const left = removeDumpLeftovers();
  if (left.removed.length > 0) log.warn({ removed: left.removed, killed: left.killed }, 'backup: removed what killed backups left');
}

/**
 * The scheduler and the tasks (with nodemailer, the backup, the SLA code...), imported only past
 * `--status_only`: monitoring calls it every minute, and loading them doubled its time and added
 * 10 MiB to its RSS (bench/RESULTS.md).
 */
interface FullRunModules {
  cronExec: typeof import('../scheduler/cronExec.js').cronExec;
  loadTasks: typeof import('../tasks/registry.js').loadTasks;
  hardDeadlineGraceMs: typeof import('../scheduler/deadline.js').hardDeadlineGraceMs;
  openBridge: typeof import('../php/openBridge.js').openBridge;
}

async function fullRunModules(): Promise<FullRunModules> {
  const [{ cronExec }, { loadTasks }, { hardDeadlineGraceMs }, { openBridge }] = await Promise.all([
    import('../scheduler/cronExec.js'),
    import('../tasks/registry.js'),
    import('../scheduler/deadline.js'),
    import('../php/openBridge.js'),
  ]);
  return { cronExec, loadTasks, hardDeadlineGraceMs, openBridge };
}

/** Maps how the loop ended to cron.php's last lines and exit code. */
function afterRun(exit: CronExit | undefined, inv: CronInvocation): number {
  const { out, clock, log } = inv;
  switch (exit?.kind) {
    case 'maintenance':
      out.line('Maintenance detected, exiting');
      return EXIT_ERROR;
    case 'gone-away':
      out.line(`ERROR : 'MySQL has gone away' thrown when processing ${exit.className}  (error_code=${exit.errno})`);
      return EXIT_FATAL;
    case 'lock-lost':
      out.line("ERROR: 'The cron lock was lost (connection dropped or taken over): stopping'");
      log.error('run stopped: lock lost');
      break;
    default:
      break;
  }
  out.line(stampLine('Exiting', clock.nowUnix(), clock.nowLocal()));
  return exit?.kind === 'lock-lost' ? EXIT_ERROR : EXIT_OK;
}

/**
 * cron.php's `DBHasAccess(ACCESS_ADMIN_WRITE)`: `access_mode` must have bit 2, and no restore may be running
 * (the `restore.production` lock).
 */
async function adminWriteAllowed(config: Config, db: Db): Promise<boolean> {
  if ((config.accessMode & 2) === 0) return false;
  return isLockFree(db, lockName('restore.production', config.db.name, config.db.prefix));
}

export { CronError };
