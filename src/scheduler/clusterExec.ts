/**
 * A run in cluster mode (issue 15): the registry resync under the `resync` lease (runners starting together
 * on an empty registry must create one row per class), then passes through the lanes with the cluster's
 * gate (clusterGate.ts). Stale `running` flags are not cleared at start as in cron.php's mode (another
 * runner may be running that task): a claim finds them, and takes the run over.
 */
import { underLease } from '../cluster/guarded.js';
import type { ClusterMember } from '../cluster/member.js';
import { settingInt } from '../config/php.js';
import type { BackgroundTask } from '../tasks/types.js';
import { clusterGate } from './clusterGate.js';
import { runLanes } from './lanes.js';
import { maintenanceDetected } from './maintenance.js';
import { createHeapTrimmer } from './memory.js';
import { finish, type CronExit } from './passParts.js';
import { reSyncProcesses } from './resync.js';
import type { RunEnv } from './runEnv.js';
import { reportTasksWithoutRunner } from './runnerChoice.js';

/** The lease that serialises the registry resyncs of the runners. */
export const RESYNC_LEASE = 'resync';

export async function clusterExec(
  env: RunEnv, member: ClusterMember, tasks: readonly BackgroundTask[], lockName: string, timeLimit: number,
): Promise<CronExit> {
  const { ttlSeconds } = member.settings;
  // A runner that died in the middle of its resync holds the others back for one TTL at most.
  const resynced = await underLease(env.db, RESYNC_LEASE, member.me.id, { ttlSeconds, waitMs: ttlSeconds * 3000 }, (db) => reSyncProcesses({ ...env, db }, tasks));
  if (resynced === undefined) throw new Error(`the registry resync lease could not be had within ${ttlSeconds * 3} s`);
  const runnable = resynced.value;
  await reportTasksWithoutRunner(env, runnable);
  const lanes = settingInt(env.config.settings, 'itop_cron.max_parallel', 1);
  const exit = await runLanes(env, { runnable, gate: clusterGate(env, member, lockName), timeLimit, lanes, heap: createHeapTrimmer() });
  // The flag file is on this host only: the other runners learn of it from the database.
  if (exit?.kind === 'maintenance' && maintenanceDetected(env.config.appRoot)) {
    await member.markMaintenance().catch((e: unknown) => env.log.error({ err: (e as Error).message }, 'cluster: the maintenance flag could not be passed on to the other runners'));
  }
  return exit ?? finish(env, timeLimit);
}
