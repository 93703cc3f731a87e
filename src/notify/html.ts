/**
 * A small HTML parser and serializer that reproduces what PHP's DOMDocument (libxml2's HTML parser) does
 * to the markup iTop renders for e-mails: tag and attribute names lower-cased, entities decoded, `&`
 * re-escaped, implied end tags (`<p>` closed by a block), stray end tags dropped, unknown tags kept,
 * void elements without end tag, URL attributes percent-escaped. It is used for CSS inlining
 * (cssInline.ts) and for the sanitized copy stored in the event (sanitize.ts). It is not a general HTML5
 * parser: no implied `<tbody>`, no foster parenting, no template or foreign content.
 */
import { decodeEntities } from './entities.js';

export interface HtmlElement {
  readonly type: 'element';
  name: string;
  /** In source order; a null value is a bare attribute. */
  attrs: Array<[string, string | null]>;
  children: HtmlNode[];
}
export interface HtmlText {
  readonly type: 'text';
  /** Decoded text. */
  value: string;
}
export interface HtmlRaw {
  /** A comment (`<!--x-->`) or processing instruction (`<?x?>`), kept verbatim. */
  readonly type: 'raw';
  value: string;
}
export type HtmlNode = HtmlElement | HtmlText | HtmlRaw;

export const VOID_ELEMENTS = new Set([
  'area', 'base', 'basefont', 'br', 'col', 'embed', 'frame', 'hr', 'img', 'input', 'isindex', 'keygen', 'link', 'meta',
  'param', 'source', 'track', 'wbr',
]);
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp']);
const BLOCKS_CLOSING_P = new Set([
  'address', 'article', 'aside', 'blockquote', 'center', 'dir', 'div', 'dl', 'fieldset', 'figure', 'footer', 'form',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'listing', 'menu', 'nav', 'ol', 'p', 'pre', 'section', 'table',
  'ul', 'xmp',
]);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
/** libxml2's end-tag priorities: an end tag cannot close an open element of higher priority. */
const END_PRIORITY: Readonly<Record<string, number>> = {
  div: 150, td: 160, th: 160, tr: 170, thead: 180, tbody: 180, tfoot: 180, table: 190, head: 200, body: 200, html: 220,
};
const priority = (name: string): number => END_PRIORITY[name] ?? 100;

/** True when starting `tag` implicitly closes the open element `open` (libxml2's start-close table). */
function startCloses(tag: string, open: string): boolean {
  if (open === 'p') return BLOCKS_CLOSING_P.has(tag) || tag === 'li';
  if (open === 'li') return tag === 'li';
  if (open === 'dt' || open === 'dd') return tag === 'dt' || tag === 'dd';
  if (open === 'td' || open === 'th') return tag === 'td' || tag === 'th' || tag === 'tr';
  if (open === 'tr') return tag === 'tr';
  if (open === 'thead' || open === 'tbody' || open === 'tfoot') return tag === 'tbody' || tag === 'tfoot';
  if (open === 'option') return tag === 'option';
  if (HEADINGS.has(open)) return HEADINGS.has(tag);
  return open === 'a' && tag === 'a';
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;

interface Builder {
  readonly root: HtmlElement;
  readonly stack: HtmlElement[];
}

function current(b: Builder): HtmlElement {
  return b.stack[b.stack.length - 1] ?? b.root;
}

function appendText(b: Builder, value: string): void {
  if (value === '') return;
  const parent = current(b);
  const last = parent.children[parent.children.length - 1];
  if (last?.type === 'text') last.value += value;
  else parent.children.push({ type: 'text', value });
}

/** Parses the attributes of a start tag from `pos` (just after the name); returns them and the end index. */
function parseAttributes(src: string, pos: number): { attrs: Array<[string, string | null]>; end: number } {
  const attrs: Array<[string, string | null]> = [];
  let i = pos;
  while (i < src.length && src[i] !== '>') {
    const ws = /^[\s/]+/.exec(src.slice(i));
    if (ws) {
      i += ws[0].length;
      continue;
    }
    const name = NAME.exec(src.slice(i));
    if (!name) {
      // libxml2 gives up on a malformed attribute and skips to the end of the tag.
      while (i < src.length && src[i] !== '>') i++;
      break;
    }
    i += name[0].length;
    let value: string | null = null;
    const eq = /^\s*=\s*/.exec(src.slice(i));
    if (eq) {
      i += eq[0].length;
      const quote = src[i];
      if (quote === '"' || quote === "'") {
        const close = src.indexOf(quote, i + 1);
        const stop = close < 0 ? src.length : close;
        value = decodeEntities(src.slice(i + 1, stop));
        i = stop + 1;
      } else {
        const m = /^[^\s>]*/.exec(src.slice(i));
        value = decodeEntities(m?.[0] ?? '');
        i += m?.[0].length ?? 0;
      }
    }
    const lower = name[0].toLowerCase();
    if (!attrs.some(([n]) => n === lower)) attrs.push([lower, value]);
  }
  return { attrs, end: i < src.length ? i + 1 : src.length };
}

function startTag(b: Builder, name: string, attrs: Array<[string, string | null]>): HtmlElement | undefined {
  if (name === 'html' || name === 'head' || name === 'body') return undefined;
  while (b.stack.length > 0 && startCloses(name, current(b).name)) b.stack.pop();
  const el: HtmlElement = { type: 'element', name, attrs, children: [] };
  current(b).children.push(el);
  if (!VOID_ELEMENTS.has(name)) b.stack.push(el);
  return el;
}

function endTag(b: Builder, name: string): void {
  let i = b.stack.length - 1;
  while (i >= 0 && b.stack[i]?.name !== name) i--;
  if (i < 0) return; // stray end tag: ignored
  for (let j = b.stack.length - 1; j > i; j--) {
    if (priority((b.stack[j] as HtmlElement).name) > priority(name)) return;
  }
  b.stack.length = i;
}

/** Parses an HTML fragment (the content of `<body>`) into a tree whose root is a `body` element. */
export function parseHtml(src: string): HtmlElement {
  const b: Builder = { root: { type: 'element', name: 'body', attrs: [], children: [] }, stack: [] };
  let i = 0;
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    if (lt < 0) {
      appendText(b, decodeEntities(src.slice(i)));
      break;
    }
    appendText(b, decodeEntities(src.slice(i, lt)));
    i = lt;
    const rest = src.slice(i, i + 9);
    if (rest.startsWith('<!--')) {
      const end = src.indexOf('-->', i + 4);
      const stop = end < 0 ? src.length : end + 3;
      current(b).children.push({ type: 'raw', value: src.slice(i, stop) });
      i = stop;
    } else if (rest.startsWith('<!') || rest.startsWith('<?')) {
      const end = src.indexOf('>', i);
      const stop = end < 0 ? src.length : end + 1;
      if (rest.startsWith('<?')) current(b).children.push({ type: 'raw', value: src.slice(i, stop) });
      i = stop;
    } else if (rest.startsWith('</')) {
      const name = NAME.exec(src.slice(i + 2));
      const end = src.indexOf('>', i);
      if (!name) {
        appendText(b, '</');
        i += 2;
        continue;
      }
      endTag(b, name[0].toLowerCase());
      i = end < 0 ? src.length : end + 1;
    } else {
      const name = /^[A-Za-z][A-Za-z0-9_:.-]*/.exec(src.slice(i + 1));
      if (!name) {
        appendText(b, '<');
        i += 1;
        continue;
      }
      const tag = name[0].toLowerCase();
      const { attrs, end } = parseAttributes(src, i + 1 + name[0].length);
      i = end;
      const el = startTag(b, tag, attrs);
      if (el !== undefined && RAW_TEXT.has(tag)) {
        const close = src.toLowerCase().indexOf(`</${tag}`, i);
        const stop = close < 0 ? src.length : close;
        if (stop > i) el.children.push({ type: 'text', value: src.slice(i, stop) });
        i = stop;
      }
    }
  }
  return b.root;
}

/** Text content: `&`, `<`, `>` escaped (UTF-8 output keeps every other character as is). */
export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;');
}

const URI_ATTRS = new Set(['href', 'src', 'action', 'background', 'longdesc', 'usemap', 'cite']);

/** libxml2 percent-escapes URL attributes, keeping unreserved characters and `@/:=?;#%&,+<>`. */
function escapeUri(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value.replace(/^\s+/, ''), 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.!~*'()@/:=?;#%&,+<>]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function serializeAttrs(el: HtmlElement): string {
  return el.attrs
    .map(([name, value]) => {
      if (value === null) return ` ${name}`;
      const v = URI_ATTRS.has(name) || (name === 'name' && el.name === 'a') ? escapeUri(value) : value;
      return ` ${name}="${escapeAttr(v)}"`;
    })
    .join('');
}

/** Serializes nodes as libxml2's saveHTML does (no added formatting). */
export function serializeNodes(nodes: readonly HtmlNode[], parent = ''): string {
  let out = '';
  for (const node of nodes) {
    if (node.type === 'text') out += RAW_TEXT.has(parent) ? node.value : escapeText(node.value);
    else if (node.type === 'raw') out += node.value;
    else out += serializeElement(node);
  }
  return out;
}

/** Serializes one element and its content. */
export function serializeElement(el: HtmlElement): string {
  const open = `<${el.name}${serializeAttrs(el)}>`;
  if (VOID_ELEMENTS.has(el.name)) return open;
  return `${open}${serializeNodes(el.children, el.name)}</${el.name}>`;
}

/** The value of an attribute, undefined when absent. */
export function getAttr(el: HtmlElement, name: string): string | null | undefined {
  return el.attrs.find(([n]) => n === name)?.[1];
}

/** Sets (or adds at the end) an attribute. */
export function setAttr(el: HtmlElement, name: string, value: string): void {
  const at = el.attrs.find(([n]) => n === name);
  if (at) at[1] = value;
  else el.attrs.push([name, value]);
}

/** HTML-escapes a value for insertion in markup, as iTop's EscapeHtml (htmlspecialchars, ENT_QUOTES). */
export function escapeHtml(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/'/g, '&#039;');
}
