/**
 * The failure alert: one e-mail to `itop_cron.alert_email` when a task has failed N times in a row
 * (`itop_cron.alert_after_failures`, default 3), counted from the run history (runHistory.failureStreak,
 * by the caller, right after the run is recorded). One mail per streak: the next one needs a success in
 * between. Sent through iTop's configured mail transport.
 */
import { hostname } from 'node:os';
import type { Options } from 'nodemailer/lib/mailer';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { RunHistoryRow } from '../db/runHistory.js';
import { coerceError } from '../errors.js';
import { createMailTransport, mailSettingsFromConfig, type MailSettings, type MailTransport } from '../mail/transport.js';
import type { OpsSettings } from './settings.js';

export interface FailureAlerter {
  /** Sends the mail for a streak of failures (`runs`, newest first); false when it could not be sent (logged). */
  send(className: string, runs: readonly RunHistoryRow[]): Promise<boolean>;
  /** Closes the mail transport (pooled SMTP connection). */
  close(): void;
}

export interface FailureAlertOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly settings: Pick<OpsSettings, 'alertEmail'>;
  /** Default: from the configuration (email_transport...). */
  readonly mailSettings?: MailSettings;
  readonly host?: string;
}

/** The mail itself: what failed, where, and the last runs with their messages. */
export function failureMailOptions(opts: {
  className: string;
  failures: number;
  to: readonly string[];
  from: string;
  database: string;
  host: string;
  runs: readonly RunHistoryRow[];
}): Options {
  const lines = [
    `The background task ${opts.className} failed ${opts.failures} times in a row.`,
    '',
    `Database: ${opts.database}`,
    `Host: ${opts.host}`,
    '',
    'Latest runs (newest first):',
    ...opts.runs.map((r) => `- ${r.started}  ${r.outcome}  ${Number(r.duration).toFixed(3)} s  ${(r.message ?? '').replace(/\s+/g, ' ').trim()}`),
    '',
    'See `itop-cron history ' + opts.className + '` and the itop-cron log for details.',
    'No other mail is sent for this task until it has succeeded again.',
  ];
  return {
    from: opts.from,
    to: [...opts.to],
    subject: `[itop-cron] ${opts.className} failed ${opts.failures} times in a row (${opts.database})`,
    text: `${lines.join('\n')}\n`,
  };
}

/** An alerter for one process; the transport is created on the first mail only. */
export function createFailureAlerter(opts: FailureAlertOptions): FailureAlerter {
  const { config, log, settings } = opts;
  const host = opts.host ?? hostname();
  let transport: MailTransport | undefined;
  return {
    async send(className, runs) {
      if (settings.alertEmail.length === 0) return false;
      const mail = opts.mailSettings ?? mailSettingsFromConfig(config);
      transport ??= createMailTransport(mail, log);
      const from = mail.defaultFrom?.address ?? `itop-cron@${host}`;
      const failures = runs.length;
      try {
        await transport.send(failureMailOptions({ className, failures, to: settings.alertEmail, from, database: config.db.name, host, runs }));
        log.info({ task: className, failures, to: settings.alertEmail }, 'failure alert mail sent');
        return true;
      } catch (e) {
        log.error({ task: className, err: coerceError(e).message }, 'failure alert mail could not be sent');
        return false;
      }
    },
    close() {
      transport?.close();
    },
  };
}
