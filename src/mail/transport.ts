/**
 * Sending mail the way iTop's `email_transport` setting says:
 * `SMTP` through one pooled nodemailer connection, `LogFile` into `<appRoot>/log/mail.log`, `Null` nowhere,
 * and `PHPMail` (the default, and any unknown value) through the local sendmail binary.
 */
import { accessSync, constants } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Options } from 'nodemailer/lib/mailer';
import type { SMTPPoolOptions } from 'nodemailer/lib/smtp-pool';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { settingBool, settingInt, settingString } from '../config/php.js';
import { MailSendError } from './sendError.js';
import type { MailAddress } from './v2Message.js';

export { MailSendError };

/** `email_transport_smtp.*`. */
export interface SmtpSettings {
  host: string;
  port: number;
  /** '' (plain, STARTTLS when offered), 'tls' (STARTTLS required) or 'ssl' (TLS from the start). */
  encryption: string;
  username: string;
  /** Non-empty → AUTH LOGIN with `username`, as iTop. Never logged, never in an error. */
  password: string;
  verifyPeer: boolean;
  allowSelfSigned: boolean;
}

export interface MailSettings {
  /** `email_transport`: `SMTP`, `LogFile`, `Null`, `SMTP_OAuth`, `PHPMail`; anything else means PHPMail. */
  transport: string;
  smtp: SmtpSettings;
  /** Where `LogFile` appends; `<appRoot>/log/mail.log` from mailSettingsFromConfig. */
  logFile?: string;
  /** `email_default_sender_address/label`, for buildMail's `defaultFrom`. */
  defaultFrom?: MailAddress;
  /** SMTP connection, greeting and socket inactivity timeout in ms; default 30 000. */
  timeoutMs?: number;
  /** The sendmail binary for `PHPMail`; default `/usr/sbin/sendmail`. */
  sendmailPath?: string;
}

export interface SendResult {
  messageId: string;
  /** Recipients the SMTP server refused while accepting the others (the mail went to those). */
  rejected: string[];
}

export interface MailTransport {
  /** The transport actually used: `SMTP`, `LogFile`, `Null`, `PHPMail` or `SMTP_OAuth`. */
  readonly kind: string;
  /** Sends one message; rejects with a MailSendError whose message never holds the SMTP password. */
  send(mail: Options): Promise<SendResult>;
  /** Closes the pooled SMTP connection (no-op for the others). */
  close(): void;
}

export type MailLog = Pick<Logger, 'debug' | 'warn'>;

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_SENDMAIL = '/usr/sbin/sendmail';

/** Every form the password can take on the wire (LOGIN and PLAIN are base64), to be blanked out of errors. */
function secretForms(smtp: SmtpSettings): string[] {
  if (smtp.password === '') return [];
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  return [smtp.password, b64(smtp.password), b64(`\0${smtp.username}\0${smtp.password}`)];
}

/**
 * Rebuilds an error from its message, code and SMTP response code only, with the secrets removed: the
 * original carries the last command sent (possibly the base64 password) and must not reach a log.
 */
function cleanError(e: unknown, secrets: readonly string[], where = ''): MailSendError {
  const err = e as { message?: unknown; code?: unknown; responseCode?: unknown };
  let message = typeof err?.message === 'string' ? err.message : String(e);
  if (where !== '' && !message.includes(where)) message += ` (SMTP ${where})`;
  for (const s of secrets) message = message.split(s).join('***');
  return new MailSendError(
    message,
    typeof err?.code === 'string' ? err.code : undefined,
    typeof err?.responseCode === 'number' ? err.responseCode : undefined,
  );
}

/** nodemailer SMTP options for iTop's settings; exported for tests. */
export function smtpOptions(smtp: SmtpSettings, timeoutMs = DEFAULT_TIMEOUT_MS): SMTPPoolOptions & { pool: true } {
  const encryption = smtp.encryption.trim().toLowerCase();
  const verify = smtp.verifyPeer && !smtp.allowSelfSigned; // Node cannot accept self-signed only
  return {
    pool: true,
    maxConnections: 1,
    host: smtp.host,
    port: smtp.port,
    secure: encryption === 'ssl',
    requireTLS: encryption === 'tls',
    // iTop sends '' in clear. Using STARTTLS when offered is better, but a certificate the administrator
    // never asked to verify, or a refused upgrade, must not stop the mail: hence no verification here and
    // the fallback to plain text.
    opportunisticTLS: encryption !== 'ssl' && encryption !== 'tls',
    tls: { rejectUnauthorized: encryption === 'ssl' || encryption === 'tls' ? verify : false },
    ...(smtp.password !== '' ? { auth: { user: smtp.username, pass: smtp.password }, authMethod: 'LOGIN' } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: false,
  };
}

function smtpTransport(settings: MailSettings, log: MailLog): MailTransport {
  const secrets = secretForms(settings.smtp);
  const where = `${settings.smtp.host}:${settings.smtp.port}`;
  const transporter = nodemailer.createTransport(smtpOptions(settings.smtp, settings.timeoutMs));
  const { host, port, encryption } = settings.smtp;
  log.debug({ host, port, encryption }, 'SMTP mail transport');
  return {
    kind: 'SMTP',
    async send(mail) {
      try {
        const info = await transporter.sendMail(mail);
        const rejected = (info.rejected ?? []).map(String);
        if (rejected.length > 0) {
          log.warn({ rejected, messageId: info.messageId }, 'SMTP server refused some recipients');
        }
        return { messageId: info.messageId, rejected };
      } catch (e) {
        throw cleanError(e, secrets, where);
      }
    },
    close: () => transporter.close(),
  };
}

/** Renders the message (headers CRLF, as iTop's file transport writes it) without sending it anywhere. */
async function render(mail: Options): Promise<{ messageId: string; raw: Buffer }> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  try {
    const info = await t.sendMail(mail);
    return { messageId: info.messageId, raw: info.message as Buffer };
  } catch (e) {
    throw cleanError(e, []);
  }
}

function logFileTransport(settings: MailSettings): MailTransport {
  return {
    kind: 'LogFile',
    async send(mail) {
      const { messageId, raw } = await render(mail);
      if (settings.logFile === undefined) {
        throw new MailSendError('Sending eMail failed: the LogFile transport needs the iTop root (log/mail.log)');
      }
      try {
        // iTop overwrites the file with each message; appending keeps every mail of the run readable.
        await appendFile(settings.logFile, Buffer.concat([raw, Buffer.from('\r\n')]));
      } catch (e) {
        throw cleanError(e, []);
      }
      return { messageId, rejected: [] };
    },
    close: () => undefined,
  };
}

function nullTransport(): MailTransport {
  return {
    kind: 'Null',
    // Rendered all the same, so that a message nodemailer cannot build fails here as it would elsewhere.
    send: async (mail) => ({ messageId: (await render(mail)).messageId, rejected: [] }),
    close: () => undefined,
  };
}

function failingTransport(kind: string, message: string): MailTransport {
  return {
    kind,
    send: () => Promise.reject(new MailSendError(message)),
    close: () => undefined,
  };
}

function sendmailTransport(settings: MailSettings): MailTransport {
  const path = settings.sendmailPath ?? DEFAULT_SENDMAIL;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return failingTransport('PHPMail', 'Sending eMail failed: sendmail not available');
  }
  const transporter = nodemailer.createTransport({ sendmail: true, path, newline: 'unix' });
  return {
    kind: 'PHPMail',
    async send(mail) {
      try {
        const info = await transporter.sendMail(mail);
        return { messageId: info.messageId, rejected: [] };
      } catch (e) {
        throw cleanError(e, []);
      }
    },
    close: () => transporter.close(),
  };
}

/**
 * Creates the transport named by `settings.transport` (case as iTop: exact names). `SMTP_OAuth` is not
 * supported and fails every send with a clear message. PHPMail without an executable sendmail fails every
 * send with `Sending eMail failed: sendmail not available` (iTop says `Unable to send mail: Unknown error`).
 */
export function createMailTransport(settings: MailSettings, log: MailLog): MailTransport {
  switch (settings.transport) {
    case 'SMTP':
      return smtpTransport(settings, log);
    case 'LogFile':
      return logFileTransport(settings);
    case 'Null':
      return nullTransport();
    case 'SMTP_OAuth':
      return failingTransport(
        'SMTP_OAuth',
        'Sending eMail failed: the SMTP_OAuth transport is not supported by itop-cron',
      );
    default:
      return sendmailTransport(settings);
  }
}

/** Reads `email_transport`, `email_transport_smtp.*` and `email_default_sender_*` with iTop's defaults. */
export function mailSettingsFromConfig(config: Config): MailSettings {
  const s = config.settings;
  const address = settingString(s, 'email_default_sender_address', '');
  return {
    transport: settingString(s, 'email_transport', 'PHPMail'),
    smtp: {
      host: settingString(s, 'email_transport_smtp.host', 'localhost'),
      port: settingInt(s, 'email_transport_smtp.port', 25),
      encryption: settingString(s, 'email_transport_smtp.encryption', ''),
      username: settingString(s, 'email_transport_smtp.username', ''),
      password: settingString(s, 'email_transport_smtp.password', ''),
      verifyPeer: settingBool(s, 'email_transport_smtp.verify_peer', true),
      allowSelfSigned: settingBool(s, 'email_transport_smtp.allow_self_signed', false),
    },
    ...(config.appRoot !== undefined ? { logFile: join(config.appRoot, 'log', 'mail.log') } : {}),
    ...(address !== '' ? { defaultFrom: { address, label: settingString(s, 'email_default_sender_label', '') } } : {}),
  };
}
