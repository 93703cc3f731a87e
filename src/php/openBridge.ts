/**
 * Whether this run can run iTop's PHP processes, and the bridge that does. No worker starts here: the
 * first request (the listing of the process classes) starts one.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { PhpBridge } from './bridge.js';
import { bridgeSettings, findPhp, hasItopSources, type BridgeSettings } from './settings.js';

export type BridgeChoice = { readonly bridge: PhpBridge; readonly reason?: undefined } | { readonly bridge?: undefined; readonly reason: string };

/** Where PHP and iTop's sources are, or why this installation cannot run PHP tasks. */
export function bridgeAvailability(
  config: Config,
  params: Readonly<Record<string, string>>,
): { settings: BridgeSettings; php: string; itopRoot: string; reason?: undefined } | { settings: BridgeSettings; reason: string } {
  const settings = bridgeSettings(config, params);
  if (!settings.enabled) return { settings, reason: 'the PHP bridge is turned off (itop_cron.php_bridge = false)' };
  if (!hasItopSources(config.appRoot)) {
    return { settings, reason: `no iTop sources under ${config.appRoot ?? '(no iTop root)'} (approot.inc.php, application/startup.inc.php)` };
  }
  const php = findPhp(settings.phpBin);
  if (php === undefined) {
    return { settings, reason: `PHP was not found ('${settings.phpBin}'; set --php_bin, ITOP_CRON_PHP_BIN or itop_cron.php_bin)` };
  }
  return { settings, php, itopRoot: config.appRoot };
}

export function openBridge(config: Config, params: Readonly<Record<string, string>>, login: string, log: Logger): BridgeChoice {
  const a = bridgeAvailability(config, params);
  if (a.reason !== undefined) return { reason: a.reason };
  return { bridge: new PhpBridge({ php: a.php, itopRoot: a.itopRoot, login, settings: a.settings, log }) };
}
