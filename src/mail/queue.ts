/**
 * Sending the mail itop-cron itself produces (e.g. threshold notifications) the way iTop's `EMail::Send`
 * does: queued as an AsyncSendEmail row for ExecAsyncTask when `email_asynchronous` is set (or the caller
 * forces it), else sent at once.
 */
import type { Logger } from 'pino';
import { settingBool, settingInt } from '../config/php.js';
import type { Config } from '../config/types.js';
import { findInlineImage, insertQueuedEmail } from '../db/asyncTasks.js';
import type { Db } from '../db/types.js';
import type { Clock } from '../time/clock.js';
import { buildMail, type InlineImageLookup } from './buildMail.js';
import { createMailTransport, mailSettingsFromConfig, type MailSettings, type MailTransport } from './transport.js';
import { encodeV2, type V2Message } from './v2Message.js';

/** What queueOrSendMail needs from a task context. */
export interface MailQueueContext {
  readonly db: Db;
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
}

export interface QueueMailOptions {
  /** `priv_event.id` of the notification event, stored in the task's `event_id` (0 = none). */
  eventId?: number;
  /** Queue even when `email_asynchronous` is false (ActionEmail `asynchronous = 'yes'`). */
  forceAsync?: boolean;
  /** Send now even when `email_asynchronous` is true (ActionEmail `asynchronous = 'no'`); loses to forceAsync. */
  forceSync?: boolean;
  /** The transport to send with, to share one SMTP connection across mails; closed by its owner. */
  transport?: MailTransport;
}

/** `Sent` (sent now) or `Pending` (queued), iTop's event messages for both outcomes. */
export type QueueMailResult = 'Sent' | 'Pending';

/**
 * The mail settings of the configuration plus itop-cron's own `itop_cron.smtp_timeout` (seconds, default
 * 30): how long an SMTP connection, greeting or silence may last before the send fails.
 */
export function cronMailSettings(config: Config): MailSettings {
  const settings = mailSettingsFromConfig(config);
  const timeout = settingInt(config.settings, 'itop_cron.smtp_timeout', 0);
  return timeout > 0 ? { ...settings, timeoutMs: timeout * 1000 } : settings;
}

/** Resolves `<img data-img-id data-img-secret>` of an HTML body against `{p}inline_image`. */
export function inlineImageLookup(db: Db): InlineImageLookup {
  return (id, secret) => findInlineImage(db, id, secret);
}

/** True when mails go through the queue: `email_asynchronous` (default false) unless forced either way. */
export function isAsynchronous(config: Config, opts: Pick<QueueMailOptions, 'forceAsync' | 'forceSync'> = {}): boolean {
  if (opts.forceAsync === true) return true;
  if (opts.forceSync === true) return false;
  return settingBool(config.settings, 'email_asynchronous', false);
}

/**
 * Queues one V2 message (returns the task id). The row is what iTop's AddToQueue writes: `planned`,
 * created now, the event id, version 2, `to` and `subject` copied from the message, and the message
 * serialized in its own key order (build it in iTop's order — from, subject, body, to, cc, bcc, reply_to,
 * headers, message_id — to get the same bytes).
 */
export async function queueMail(ctx: MailQueueContext, v2: V2Message, eventId = 0): Promise<number> {
  const id = await insertQueuedEmail(ctx.db, {
    createdLocal: ctx.clock.nowLocal(),
    eventId,
    to: v2.to ?? '',
    subject: v2.subject ?? '',
    message: encodeV2(v2),
  });
  ctx.log.debug({ asyncTask: id, eventId }, 'e-mail queued for ExecAsyncTask');
  return id;
}

/**
 * Queues the message or sends it now, per `email_asynchronous` and the options. Returns `Pending` when
 * queued, `Sent` when the transport accepted it; a synchronous send that fails throws (a MailSendError, or
 * the address/inline-image error of buildMail) for the caller to record (`Error: <message>` in iTop). The
 * caller owns the event row and writes its message.
 */
export async function queueOrSendMail(
  ctx: MailQueueContext,
  v2: V2Message,
  opts: QueueMailOptions = {},
): Promise<QueueMailResult> {
  if (isAsynchronous(ctx.config, opts)) {
    await queueMail(ctx, v2, opts.eventId ?? 0);
    return 'Pending';
  }
  const settings = cronMailSettings(ctx.config);
  const mail = await buildMail(v2, {
    ...(settings.defaultFrom !== undefined ? { defaultFrom: settings.defaultFrom } : {}),
    inlineImages: inlineImageLookup(ctx.db),
  });
  const transport = opts.transport ?? createMailTransport(settings, ctx.log);
  try {
    await transport.send(mail);
  } finally {
    if (opts.transport === undefined) transport.close();
  }
  return 'Sent';
}
