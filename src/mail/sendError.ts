/**
 * A failed send. `code`/`responseCode` come from nodemailer when known; there is no `cause` on purpose.
 * In a module of its own: the outage gate (src/mail/outage.ts), which every cron run and `itop-cron
 * status` load, tells a server failure from it without loading nodemailer (src/mail/transport.ts).
 */
export class MailSendError extends Error {
  readonly code: string | undefined;
  readonly responseCode: number | undefined;
  constructor(message: string, code?: string, responseCode?: number) {
    super(message);
    this.name = 'MailSendError';
    this.code = code;
    this.responseCode = responseCode;
  }
}
