/**
 * Replays a queued V2 message into nodemailer options, as iTop's `UnSerializeV2` rebuilds an e-mail at send
 * time: a fresh message starting with the default sender, then the keys in iTop's replay order
 * (body, message_id, bcc, cc, from, reply_to, to, subject, headers, parts, attachments), then From = To when
 * From is still empty.
 */
import { randomBytes } from 'node:crypto';
import type { Address, Attachment, Options } from 'nodemailer/lib/mailer';
import { parseAddressList } from './addresses.js';
import type { MailAddress, V2Message } from './v2Message.js';

/** An inline image (a row of `{p}inline_image`). */
export interface InlineImage {
  data: Buffer;
  mimeType: string;
  filename: string;
  /** The row's `secret`; when given, buildMail also checks it against the tag's `data-img-secret`. */
  secret?: string;
}

/**
 * Finds inline image `id`. It must return undefined unless the image's secret equals `secret` (e.g.
 * `SELECT … FROM {p}inline_image WHERE id = ? AND secret = ?`), or return the row's `secret` to let
 * buildMail compare.
 */
export type InlineImageLookup = (id: string, secret: string) => Promise<InlineImage | undefined>;

export interface BuildMailOptions {
  /** `email_default_sender_address` / `_label`; used when the message has no From. */
  defaultFrom?: MailAddress;
  /** Resolves `<img data-img-id data-img-secret>` tags of HTML bodies; without it images are left alone. */
  inlineImages?: InlineImageLookup;
}

const IMG_TAG = /<img\b[^>]*>/gi;
/** One attribute of a tag: name, then an optional double-quoted, single-quoted or bare value. */
const ATTR = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

interface TagAttr {
  name: string;
  value: string;
  start: number;
  end: number;
}

function tagAttributes(tag: string): TagAttr[] {
  const attrs: TagAttr[] = [];
  const inner = tag.slice(4); // after '<img'
  for (const m of inner.matchAll(ATTR)) {
    const start = 4 + (m.index ?? 0);
    const value = m[2] ?? m[3] ?? m[4] ?? '';
    attrs.push({ name: (m[1] ?? '').toLowerCase(), value, start, end: start + m[0].length });
  }
  return attrs;
}

/** The attributes of an `<img>` tag and, when it names an inline image, its id and secret. */
function imageRef(tag: string): { attrs: TagAttr[]; id: string; secret: string; key: string } | undefined {
  const attrs = tagAttributes(tag);
  const id = attrs.find((a) => a.name === 'data-img-id')?.value;
  const secret = attrs.find((a) => a.name === 'data-img-secret')?.value;
  if (id === undefined || secret === undefined) return undefined;
  return { attrs, id, secret, key: `${id}\n${secret}` };
}

/** Rewrites the tag's src (or adds one) to point at `cid`. */
function pointTagAt(tag: string, attrs: TagAttr[], cid: string): string {
  const src = attrs.find((a) => a.name === 'src');
  if (src) return `${tag.slice(0, src.start)}src="cid:${cid}"${tag.slice(src.end)}`;
  return `<img src="cid:${cid}"${tag.slice(4)}`;
}

/**
 * Replaces the images of an HTML body that reference an inline image with a matching secret by `cid:`
 * references, and returns the new HTML with the inline attachments. Each image is looked up and attached
 * once. Unlike iTop (DOMDocument), the rest of the markup is left byte for byte as it was.
 */
export async function embedInlineImages(
  html: string,
  lookup: InlineImageLookup,
): Promise<{ html: string; attachments: Attachment[] }> {
  const found = new Map<string, Attachment | null>();
  for (const m of html.matchAll(IMG_TAG)) {
    const ref = imageRef(m[0]);
    if (ref === undefined || found.has(ref.key)) continue;
    const img = await lookup(ref.id, ref.secret);
    const ok = img !== undefined && (img.secret === undefined || img.secret === ref.secret);
    found.set(ref.key, ok ? inlineAttachment(img, ref.id) : null);
  }
  const out = html.replace(IMG_TAG, (tag) => {
    const ref = imageRef(tag);
    const cid = ref && found.get(ref.key)?.cid;
    return ref && cid ? pointTagAt(tag, ref.attrs, cid) : tag;
  });
  const attachments = [...found.values()].filter((a): a is Attachment => a !== null);
  return { html: out, attachments };
}

function inlineAttachment(img: InlineImage, id: string): Attachment {
  return {
    cid: `${randomBytes(8).toString('hex')}.${id}@itop-cron`,
    content: img.data,
    contentType: img.mimeType,
    filename: img.filename,
    contentDisposition: 'inline',
  };
}

function nonEmptyAddress(a: MailAddress | undefined): Address | undefined {
  return a && a.address.trim() !== '' ? { name: a.label, address: a.address.trim() } : undefined;
}

/** Body and parts: HTML and plain text fill nodemailer's html/text, anything else becomes an alternative. */
function addContent(mail: Options, text: string, mimeType: string): void {
  const type = mimeType.toLowerCase().split(';')[0]?.trim() ?? '';
  if (type === 'text/html' && mail.html === undefined) mail.html = text;
  else if (type === 'text/plain' && mail.text === undefined) mail.text = text;
  else (mail.alternatives ??= []).push({ content: text, contentType: `${type || 'text/plain'}; charset=utf-8` });
}

function list(value: string | undefined, field: string): Address[] | undefined {
  if (value === undefined) return undefined;
  const addresses = parseAddressList(value, field);
  return addresses.length > 0 ? addresses : undefined;
}

/**
 * Builds the nodemailer message for a queued V2 message. Throws on an invalid address list (naming it);
 * what the inline image lookup throws propagates.
 */
export async function buildMail(msg: V2Message, opts: BuildMailOptions = {}): Promise<Options> {
  const mail: Options = {};
  const attachments: Attachment[] = [];
  let from = nonEmptyAddress(opts.defaultFrom);
  if (msg.body) {
    if (msg.body.mimeType.toLowerCase().startsWith('text/html') && opts.inlineImages) {
      const embedded = await embedInlineImages(msg.body.body, opts.inlineImages);
      addContent(mail, embedded.html, msg.body.mimeType);
      attachments.push(...embedded.attachments);
    } else {
      addContent(mail, msg.body.body, msg.body.mimeType);
    }
  }
  // iTop strips the brackets on purpose; nodemailer wants them back.
  const id = msg.messageId?.trim().replace(/^<+|>+$/g, '');
  if (id) mail.messageId = `<${id}>`;
  const bcc = list(msg.bcc, 'bcc');
  if (bcc) mail.bcc = bcc;
  const cc = list(msg.cc, 'cc');
  if (cc) mail.cc = cc;
  from = nonEmptyAddress(msg.from) ?? from;
  // iTop's wrapper drops the Reply-To label, so only the address is kept.
  const replyTo = msg.replyTo?.address.trim();
  if (replyTo) mail.replyTo = parseAddressList(replyTo, 'reply_to');
  const to = list(msg.to, 'to');
  if (to) mail.to = to;
  if (msg.subject !== undefined) mail.subject = msg.subject;
  if (msg.headers && Object.keys(msg.headers).length > 0) mail.headers = { ...msg.headers };
  for (const part of msg.parts ?? []) addContent(mail, part.text, part.mimeType);
  for (const a of msg.attachments ?? []) {
    attachments.push({ filename: a.filename, content: a.data, contentType: a.mimeType });
  }
  if (attachments.length > 0) mail.attachments = attachments;
  // From = To when still empty; nodemailer takes one From, so the first To address stands for the list.
  from ??= to?.[0];
  if (from) mail.from = from;
  return mail;
}
