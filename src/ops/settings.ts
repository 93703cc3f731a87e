/**
 * The operating settings of itop-cron (`itop_cron.*` in config-itop.php's $MySettings, some also as
 * `--name=value` parameters), read and validated once.
 */
import { getOwn, phpString, settingInt, settingString, settingValue } from '../config/php.js';
import type { Config, PhpValue } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { parseAddressList } from '../mail/addresses.js';

export interface OpsSettings {
  /** `itop_cron.history_max_rows`: runs kept per task class (default 1000). */
  readonly historyMaxRows: number;
  /** `itop_cron.history_max_days`: runs older than this are dropped (default 30). */
  readonly historyMaxDays: number;
  /** `--metrics_port` or `itop_cron.metrics_port`; undefined = no metrics endpoint. */
  readonly metricsPort: number | undefined;
  /** `--metrics_host` or `itop_cron.metrics_host` (default 127.0.0.1). */
  readonly metricsHost: string;
  /** `--ping_url` or `itop_cron.ping_url`: the run's check (Healthchecks.io style base URL). */
  readonly pingUrl: string | undefined;
  /** `itop_cron.task_ping_urls`: class name → base URL. */
  readonly taskPingUrls: ReadonlyMap<string, string>;
  /** `itop_cron.ping_timeout`: seconds a ping may take (default 5). */
  readonly pingTimeoutMs: number;
  /** `itop_cron.alert_email`: recipients of the failure mail (comma-separated); empty = no mail. */
  readonly alertEmail: readonly string[];
  /** `itop_cron.alert_after_failures`: consecutive failures of a task that trigger the mail (default 3). */
  readonly alertAfterFailures: number;
}

function positive(key: string, value: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`Invalid value for '${key}': '${value}' (expected an integer >= ${min})`);
  }
  return value;
}

/** A parameter (command line or parameter file) wins over the setting. */
function paramOrSetting(config: Config, params: Readonly<Record<string, string>>, name: string): string {
  return getOwn(params, name) ?? settingString(config.settings, `itop_cron.${name}`, '');
}

function port(text: string): number | undefined {
  if (text === '' || text === '0') return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new ConfigError(`Invalid value for 'metrics_port': '${text}' (expected a TCP port, 1-65535)`);
  }
  return Number(text);
}

function httpUrl(key: string, text: string): string | undefined {
  if (text === '') return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`Invalid value for '${key}': not a URL`);
  }
  // The URL itself is not repeated: a ping URL is a bearer secret for its check.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`Invalid value for '${key}': not an http(s) URL`);
  return text.replace(/\/+$/, '');
}

function taskUrls(config: Config): Map<string, string> {
  const v = settingValue(config.settings, 'itop_cron.task_ping_urls');
  const map = new Map<string, string>();
  if (v === undefined || v === '') return map;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new ConfigError("Invalid value for 'itop_cron.task_ping_urls' (expected an array of class name => URL)");
  }
  for (const [cls, url] of Object.entries(v as Record<string, PhpValue>)) {
    const checked = httpUrl(`itop_cron.task_ping_urls.${cls}`, phpString(url));
    if (checked !== undefined) map.set(cls.replace(/^\\/, ''), checked);
  }
  return map;
}

function recipients(text: string): string[] {
  if (text === '') return [];
  try {
    return parseAddressList(text, "'itop_cron.alert_email'").map((a) => String(a.address));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

/**
 * Reads every operating setting.
 * @throws ConfigError naming the key when a value is malformed.
 */
export function opsSettings(config: Config, params: Readonly<Record<string, string>> = {}): OpsSettings {
  const s = config.settings;
  return {
    historyMaxRows: positive('itop_cron.history_max_rows', settingInt(s, 'itop_cron.history_max_rows', 1000)),
    historyMaxDays: positive('itop_cron.history_max_days', settingInt(s, 'itop_cron.history_max_days', 30)),
    metricsPort: port(paramOrSetting(config, params, 'metrics_port')),
    metricsHost: paramOrSetting(config, params, 'metrics_host') || '127.0.0.1',
    pingUrl: httpUrl('ping_url', paramOrSetting(config, params, 'ping_url')),
    taskPingUrls: taskUrls(config),
    pingTimeoutMs: positive('itop_cron.ping_timeout', settingInt(s, 'itop_cron.ping_timeout', 5)) * 1000,
    alertEmail: recipients(settingString(s, 'itop_cron.alert_email', '')),
    alertAfterFailures: positive('itop_cron.alert_after_failures', settingInt(s, 'itop_cron.alert_after_failures', 3)),
  };
}
