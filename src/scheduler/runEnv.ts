import type { Logger } from 'pino';
import type { ClusterMember } from '../cluster/member.js';
import type { Lease } from '../cluster/leases.js';
import type { Config } from '../config/types.js';
import type { Db } from '../db/types.js';
import type { PhpBridge } from '../php/bridge.js';
import type { TextSink } from '../output/stdout.js';
import type { Clock } from '../time/clock.js';
import type { RunObserver } from './observer.js';

/** Everything one cron execution works with, built once by the CLI (or web mode) and passed down. */
export interface RunEnv {
  readonly db: Db;
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  readonly out: TextSink;
  readonly verbose: boolean;
  readonly debug: boolean;
  /** The authenticated iTop user (priv_change.user_id). */
  readonly userId: number;
  /** Extra parameters from the command line and parameter files. */
  readonly params: Readonly<Record<string, string>>;
  /** Aborted on SIGTERM/SIGINT (or a web client gone): stop taking tasks. */
  readonly signal: AbortSignal;
  /** History, metrics, pings and alerts (src/ops); optional, and never able to fail a run. */
  readonly observer?: RunObserver;
  /** iTop's PHP processes (src/php/bridge.ts); absent when this run cannot run PHP, for `phpUnavailable`. */
  readonly php?: PhpBridge;
  /** Why this run has no PHP bridge (no PHP, no iTop sources, turned off), for the tasks left without a runner. */
  readonly phpUnavailable?: string;
  /** Cluster mode (src/cluster/member.ts): this runner, and what the history says of the task being run. */
  readonly cluster?: ClusterMember;
  readonly runner?: { readonly label: string; readonly takenOverFrom?: string };
  /** Cluster mode: the lease of the task being run, which fences its bookkeeping (src/cluster/leases.ts fenceOf). */
  readonly fence?: Lease;
}
