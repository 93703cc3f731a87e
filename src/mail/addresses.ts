/**
 * iTop's address lists: plain strings such as `a@x.org, "Name" <b@y.org>, Name <c@z.org>` (the queue's
 * `to`/`cc`/`bcc`, joined with ', ' by iTop). iTop's mail library refuses an invalid address instead of
 * sending to the rest, so a list with a bad item throws, naming that item.
 */
import type { Address } from 'nodemailer/lib/mailer';

/**
 * A deliberately simple address check: one `@`, no spaces, quotes, brackets or list separators, and a
 * dotted or bare host name. It rejects the error texts iTop may leave in recipient fields (spec
 *) without trying to be a full RFC 5322 parser.
 */
const LABEL = '[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]*[\\p{L}\\p{N}])?'; // international domain names too
const ADDRESS = new RegExp(`^[^\\s@<>()[\\],;:"\\\\]+@${LABEL}(?:\\.${LABEL})*$`, 'u');

/** True when `address` is a bare address iTop would accept. */
export function isValidAddress(address: string): boolean {
  return ADDRESS.test(address);
}

/** Splits on commas that are outside double quotes and angle brackets. */
function splitList(list: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i] as string;
    if (ch === '\\' && quoted && i + 1 < list.length) {
      current += ch + (list[++i] as string);
      continue;
    }
    if (ch === '"' && !angle) quoted = !quoted;
    else if (ch === '<' && !quoted) angle = true;
    else if (ch === '>' && !quoted) angle = false;
    if (ch === ',' && !quoted && !angle) {
      items.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  items.push(current);
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

/** `"A \"B\""` → `A "B"`; an unquoted name is taken as written. */
function unquote(name: string): string {
  const t = name.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t;
}

/** Parses one item: `addr`, `<addr>` or `Name <addr>`; undefined when it does not parse. */
function parseItem(item: string): Address | undefined {
  const m = /^(.*?)\s*<([^<>]*)>$/s.exec(item);
  const name = m ? unquote(m[1] ?? '') : '';
  const address = (m ? (m[2] ?? '') : item).trim();
  if (!isValidAddress(address)) return undefined;
  return { name, address };
}

/**
 * Parses a comma-separated address list into nodemailer addresses (`{ name, address }`, `name` '' when
 * absent). Empty items are skipped, so '' gives []. Throws `Invalid address in <field>: "<item>"`.
 */
export function parseAddressList(list: string, field = 'address list'): Address[] {
  return splitList(list).map((item) => {
    const parsed = parseItem(item);
    if (!parsed) throw new Error(`Invalid address in ${field}: "${item}"`);
    return parsed;
  });
}
