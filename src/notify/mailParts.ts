/**
 * The pieces of an ActionEmail message: message
 * identifiers, the wrapped body, the test-mode banner, the address checks iTop's mail library makes, and
 * the V2 message in the key order iTop writes to the queue.
 */
import { createHash } from 'node:crypto';
import { isValidAddress } from '../mail/addresses.js';
import type { V2Message } from '../mail/v2Message.js';
import { escapeHtml } from './html.js';

/** `<app>`: ITOP_APPLICATION_SHORT as a variable name. */
const APP = 'iTop';

/** `md5(APPROOT)-<environment>`, APPROOT with its trailing slash (reference install: /opt/itop/). */
export function environmentId(appRoot: string, environment = 'production'): string {
  const root = appRoot.endsWith('/') ? appRoot : `${appRoot}/`;
  return `${createHash('md5').update(root).digest('hex')}-${environment}`;
}

/** `<iTop_<Class>_<id>@<envId>.openitop.org>`: References and In-Reply-To, the same for every mail of the object. */
export function objectReference(cls: string, id: number, envId: string): string {
  return `<${APP}_${cls}_${id}@${envId}.openitop.org>`;
}

/** `iTop_<Class>_<id>_<microtime %F>@<envId>.openitop.org` (no angle brackets, as iTop stores it). */
export function messageId(cls: string, id: number, envId: string, nowMs: number): string {
  const micros = Number(process.hrtime.bigint() / 1000n % 1000n);
  const seconds = (Math.floor(nowMs) * 1000 + micros) / 1e6;
  return `${APP}_${cls}_${id}_${seconds.toFixed(6)}@${envId}.openitop.org`;
}

/** The stored body inside iTop's wrapper, then in the HTML template (`$content$`) when there is one. */
export function wrapBody(body: string, template: Buffer | string | null | undefined): string {
  const wrapped = `<div class="email-is-html-content">\n\t${body}\n</div>`;
  const tpl = Buffer.isBuffer(template) ? template.toString('utf8') : (template ?? '');
  if (tpl === '') return wrapped;
  // A template without $content$ replaces the body entirely (iTop only warns when saving the action).
  return tpl.includes('$content$') ? tpl.split('$content$').join(wrapped) : tpl;
}

export interface TestBanner {
  readonly actionLink: string;
  readonly to: string;
  readonly cc: string;
  readonly bcc: string;
  readonly from: string;
  readonly fromLabel: string;
  readonly replyTo: string;
  readonly references: string;
}

/** The dashed block test-mode mails end with (raw, before CSS inlining; the values are not escaped). */
export function testBanner(b: TestBanner): string {
  const from = b.fromLabel === '' ? b.from : escapeHtml(`${b.fromLabel} <${b.from}>`);
  return (
    '<div style="border: dashed;">\n' +
    `<h1>Testing email notification ${b.actionLink}</h1>\n` +
    '<p>The email should be sent with the following properties\n<ul>\n' +
    `<li>TO: ${b.to}</li>\n<li>CC: ${b.cc}</li>\n<li>BCC: ${b.bcc}</li>\n<li>From: ${from}</li>\n` +
    `<li>Reply-To: ${b.replyTo}</li>\n<li>References: ${b.references}</li>\n</ul>\n</p>\n</div>\n`
  );
}

/** Laminas' refusal of an invalid address, the text iTop records as `Error: ...`. */
export const INVALID_ADDRESS = 'The input is not a valid email address. Use the basic format local-part@hostname';

/** Throws iTop's error when a comma-separated address list holds anything but addresses. */
export function checkAddressList(list: string): void {
  for (const item of list.split(',')) {
    const address = item.trim();
    if (address !== '' && !isValidAddress(address)) throw new Error(INVALID_ADDRESS);
  }
}

export interface MessageFields {
  readonly from: string;
  readonly fromLabel: string;
  readonly subject: string;
  /** The CSS-inlined document. */
  readonly body: string;
  readonly to: string;
  readonly cc: string;
  readonly bcc: string;
  readonly replyTo: string;
  readonly references: string;
  readonly messageId: string;
}

/** The V2 message, keys in the order iTop's ActionEmail writes them. */
export function v2Message(m: MessageFields): V2Message {
  return {
    from: { address: m.from, label: m.fromLabel },
    subject: m.subject,
    body: { body: m.body, mimeType: 'text/html' },
    to: m.to,
    cc: m.cc,
    bcc: m.bcc,
    // iTop's wrapper drops the Reply-To label.
    replyTo: { address: m.replyTo, label: '' },
    headers: { References: m.references, 'In-Reply-To': m.references },
    messageId: m.messageId,
  };
}
