/**
 * The pass gate of cluster mode (issue 15; lanes.ts runs the passes): the pass statement also reads the
 * database's clock (the runners' own clocks never count), the cluster-wide maintenance flag and the cron
 * lock's holder; a due task is this runner's only once it holds the task's lease (src/cluster/taskClaim.ts),
 * and the task's bookkeeping is written only while that lease is still this runner's (leases.ts fenceOf).
 */
import { clusterDueTasks } from '../db/backgroundTasks.js';
import { LEASE_TABLE } from '../cluster/leases.js';
import { MAINTENANCE_LEASE, type ClusterMember } from '../cluster/member.js';
import { claimDueTask } from '../cluster/taskClaim.js';
import type { PassGate } from './lanes.js';
import type { RunEnv } from './runEnv.js';

/** The lease is the task's watch; nothing else is checked against the lock while it runs. */
const ALWAYS_HELD = { isHeld: async () => true };

export function clusterGate(env: RunEnv, member: ClusterMember, lockName: string): PassGate {
  return {
    async due(classes) {
      const before = member.localNow();
      const pass = await clusterDueTasks(env.db, env.clock.nowLocal(), lockName, classes, { table: LEASE_TABLE, name: MAINTENANCE_LEASE });
      member.followClock(pass.dbNowMs, before, member.localNow());
      if (pass.maintenance) {
        env.log.warn({ runner: member.me.label }, 'cluster: another runner saw a maintenance flag: stopping');
        return { kind: 'maintenance' };
      }
      if ((await member.checkLock(pass.lockOwner)) === 'foreign') {
        env.log.error({ runner: member.me.label, owner: pass.lockOwner }, 'cluster: the cron lock is held by something that is no itop-cron runner (PHP\'s cron.php?): stopping');
        return { kind: 'lock-lost' };
      }
      return pass.due;
    },
    async take(_task, row) {
      const claimed = await claimDueTask(env.db, row, member.me.id, member.settings, env.clock.nowLocal(), env.log);
      if (claimed === undefined) return undefined;
      if (claimed.takenOverFrom !== undefined) {
        env.log.warn({ task: row.class_name, from: claimed.takenOverFrom, since: claimed.row.latest_run_date }, 'cluster: taking over a run whose runner stopped renewing its lease');
      }
      const runner = { label: member.me.label, ...(claimed.takenOverFrom !== undefined ? { takenOverFrom: claimed.takenOverFrom } : {}) };
      return {
        env: { ...env, fence: claimed.lease, runner },
        row: claimed.row,
        watch: ALWAYS_HELD,
        interrupt: claimed.keeper.signal,
        done: () => claimed.done(),
      };
    },
  };
}
