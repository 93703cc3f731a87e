/**
 * iTop's queued e-mail, format V2 (`priv_async_send_email.version = 2`): the `message` column is
 * PHP `serialize()` of a plain array whose keys appear in the order iTop's setters ran (the queued
 * notifications write from, subject, body, to, cc, bcc, reply_to, headers, message_id; other callers differ).
 *
 * `decodeV2` keeps that order as the property order of the returned object, and `encodeV2` writes the
 * properties in their own order, so `encodeV2(decodeV2(x)) === x` for what iTop writes. Unknown keys are
 * ignored, as iTop's replay ignores them; a `null` value counts as an absent key.
 */
import {
  isPhpArray,
  phpSerialize,
  phpUnserialize,
  type PhpSerialArray,
  type PhpSerialValue,
} from './phpSerialize.js';

/** An address with its display name, as iTop stores `from` and `reply_to`. */
export interface MailAddress {
  address: string;
  label: string;
}

export interface V2Body {
  body: string;
  mimeType: string;
}

export interface V2Part {
  text: string;
  mimeType: string;
}

export interface V2Attachment {
  /** The decoded bytes (stored base64 in the queue). */
  data: Buffer;
  filename: string;
  mimeType: string;
}

/** A decoded V2 message; every key is optional, as in iTop. */
export interface V2Message {
  from?: MailAddress;
  /** Comma-separated address lists (`a@x.org, Name <b@y.org>`), see addresses.ts. */
  to?: string;
  cc?: string;
  bcc?: string;
  replyTo?: MailAddress;
  subject?: string;
  body?: V2Body;
  /** As stored: iTop writes it without angle brackets, older data may have them. */
  messageId?: string;
  /** Extra header lines, e.g. `References`, `In-Reply-To`. */
  headers?: Record<string, string>;
  parts?: V2Part[];
  attachments?: V2Attachment[];
}

type Field = keyof V2Message;

/** PHP key ↔ property name; the table order is iTop's replay order. */
const PHP_KEYS: ReadonlyArray<readonly [string, Field]> = [
  ['body', 'body'],
  ['message_id', 'messageId'],
  ['bcc', 'bcc'],
  ['cc', 'cc'],
  ['from', 'from'],
  ['reply_to', 'replyTo'],
  ['to', 'to'],
  ['subject', 'subject'],
  ['headers', 'headers'],
  ['parts', 'parts'],
  ['attachments', 'attachments'],
];
const FIELD_OF = new Map<string, Field>(PHP_KEYS);
const PHP_KEY_OF = new Map<Field, string>(PHP_KEYS.map(([k, f]) => [f, k]));

/** The PHP keys in the order iTop applies them when it replays a queued message. */
export const V2_REPLAY_ORDER: readonly string[] = PHP_KEYS.map(([k]) => k);

function corrupted(key: string, what: string): Error {
  return new Error(`Corrupted V2 message: ${key} ${what}`);
}

function str(v: PhpSerialValue, key: string): string {
  if (typeof v !== 'string') throw corrupted(key, `must be a string, got ${typeName(v)}`);
  return v;
}

function typeName(v: PhpSerialValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  return isPhpArray(v) ? 'an array' : typeof v;
}

function arr(v: PhpSerialValue, key: string): PhpSerialArray {
  if (!isPhpArray(v)) throw corrupted(key, `must be an array, got ${typeName(v)}`);
  return v;
}

/** A string member of a sub-array; `optional` members default to ''. */
function member(a: PhpSerialArray, key: string, name: string, optional = false): string {
  const v = a.get(name);
  if ((v === undefined || v === null) && optional) return '';
  if (typeof v !== 'string') throw corrupted(key, `.${name} must be a string, got ${typeName(v)}`);
  return v;
}

function address(v: PhpSerialValue, key: string): MailAddress {
  const a = arr(v, key);
  return { address: member(a, key, 'address'), label: member(a, key, 'label', true) };
}

function attachment(v: PhpSerialValue, key: string): V2Attachment {
  const a = arr(v, key);
  const data = member(a, key, 'data');
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(data)) throw corrupted(key, '.data is not base64');
  return {
    data: Buffer.from(data, 'base64'),
    filename: member(a, key, 'filename', true),
    mimeType: member(a, key, 'mimeType', true),
  };
}

function list<T>(v: PhpSerialValue, key: string, item: (v: PhpSerialValue, key: string) => T): T[] {
  return [...arr(v, key).entries()].map(([i, x]) => item(x, `${key}[${i}]`));
}

function headers(v: PhpSerialValue, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of arr(v, key)) out[String(name)] = str(value, `${key}.${name}`);
  return out;
}

/** A missing mimeType of the body or of a part means text/html, the default of iTop's SetBody and AddPart. */
function decodeField(field: Field, v: PhpSerialValue, key: string): V2Message[Field] {
  switch (field) {
    case 'from':
    case 'replyTo':
      return address(v, key);
    case 'body': {
      const a = arr(v, key);
      return { body: member(a, key, 'body'), mimeType: member(a, key, 'mimeType', true) || 'text/html' };
    }
    case 'headers':
      return headers(v, key);
    case 'parts':
      return list(v, key, (x, k) => {
        const a = arr(x, k);
        return { text: member(a, k, 'text'), mimeType: member(a, k, 'mimeType', true) || 'text/html' };
      });
    case 'attachments':
      return list(v, key, attachment);
    default:
      return str(v, key);
  }
}

/**
 * Decodes the `message` column of a V2 row. Throws `Corrupted V2 message: …` when the data does not
 * unserialize or a key holds the wrong type.
 */
export function decodeV2(serialized: string | Buffer): V2Message {
  let root: PhpSerialValue;
  try {
    root = phpUnserialize(serialized);
  } catch (e) {
    throw new Error(`Corrupted V2 message: ${(e as Error).message}`, { cause: e });
  }
  if (!isPhpArray(root)) throw new Error(`Corrupted V2 message: not an array but ${typeName(root)}`);
  const msg: Record<string, unknown> = {};
  for (const [key, value] of root) {
    const field = typeof key === 'string' ? FIELD_OF.get(key) : undefined;
    if (field === undefined || value === null) continue;
    msg[field] = decodeField(field, value, key as string);
  }
  return msg as V2Message;
}

/** PHP turns decimal-integer string keys into integer keys; headers names never are, but stay exact. */
function phpKey(name: string): string | number {
  return /^(0|-?[1-9]\d{0,15})$/.test(name) && Number.isSafeInteger(Number(name)) ? Number(name) : name;
}

function encodeField(field: Field, msg: V2Message): PhpSerialValue | undefined {
  switch (field) {
    case 'from':
    case 'replyTo': {
      const a = msg[field];
      return a && new Map([['address', a.address], ['label', a.label]]);
    }
    case 'body':
      return msg.body && new Map([['body', msg.body.body], ['mimeType', msg.body.mimeType]]);
    case 'headers':
      return msg.headers && new Map(Object.entries(msg.headers).map(([k, v]) => [phpKey(k), v]));
    case 'parts':
      return msg.parts && new Map(msg.parts.map((p, i) => [i, new Map([['text', p.text], ['mimeType', p.mimeType]])]));
    case 'attachments':
      return (
        msg.attachments &&
        new Map(
          msg.attachments.map((a, i) => [
            i,
            new Map([['data', a.data.toString('base64')], ['filename', a.filename], ['mimeType', a.mimeType]]),
          ]),
        )
      );
    default:
      return msg[field];
  }
}

/**
 * Serializes a message as iTop's queue stores it, keys in the object's own property order (a decoded
 * message keeps the order it was read in; build new ones in the order you want written).
 */
export function encodeV2(msg: V2Message): string {
  const root: PhpSerialArray = new Map();
  for (const field of Object.keys(msg) as Field[]) {
    const key = PHP_KEY_OF.get(field);
    const value = key === undefined ? undefined : encodeField(field, msg);
    if (key !== undefined && value !== undefined) root.set(key, value);
  }
  return phpSerialize(root);
}
