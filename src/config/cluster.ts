/**
 * Cluster mode's settings (issue 15), from `$MySettings` in config-itop.php:
 * - `itop_cron.cluster` (bool, default false): several runners share one database (or the nodes of one
 *   Galera cluster) through leases instead of stopping at the cron lock;
 * - `itop_cron.cluster_renew_seconds` (default 2): how often a runner renews its heartbeat and the leases
 *   it holds;
 * - `itop_cron.cluster_ttl_seconds` (default 10): how long a lease lives without renewal, i.e. how long
 *   a dead runner's task waits before another runner takes it over.
 * Read with the configuration, after the numbers were checked (src/config/numeric.ts).
 */
import { ConfigError } from '../errors.js';
import { settingBool, settingValue } from './php.js';
import type { ClusterSettings, PhpArray } from './types.js';

export const DEFAULT_RENEW_SECONDS = 2;
export const DEFAULT_TTL_SECONDS = 10;

function seconds(settings: Readonly<PhpArray>, key: string, def: number): number {
  const v = settingValue(settings, key);
  return v === undefined ? def : Number(v);
}

/** The cluster settings, or undefined when cluster mode is off (cron.php's behaviour). */
export function readClusterSettings(settings: Readonly<PhpArray>): ClusterSettings | undefined {
  if (!settingBool(settings, 'itop_cron.cluster', false)) return undefined;
  const renewSeconds = seconds(settings, 'itop_cron.cluster_renew_seconds', DEFAULT_RENEW_SECONDS);
  const ttlSeconds = seconds(settings, 'itop_cron.cluster_ttl_seconds', DEFAULT_TTL_SECONDS);
  // A lease renewed less often than it expires is lost between two renewals: every task would be taken over.
  if (ttlSeconds <= renewSeconds * 2) {
    throw new ConfigError(`Invalid value for 'itop_cron.cluster_ttl_seconds': ${ttlSeconds} (expected more than twice itop_cron.cluster_renew_seconds, ${renewSeconds})`);
  }
  return { renewSeconds, ttlSeconds };
}
