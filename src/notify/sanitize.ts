/**
 * iTop's default HTML sanitizer (HTMLDOMSanitizer), applied to the body copied into the event row: the markup is parsed, elements outside the whitelist are removed with
 * their content, attributes outside the element's whitelist are dropped, `style` keeps only whitelisted
 * properties, comments are removed, and the body's content is serialized back. The whitelists are iTop
 * 3.2's defaults; `href` is kept for http(s)/ftp/mailto URLs and for placeholders (iTop checks its
 * `url_validation_pattern`, a longer expression meaning the same for ordinary links).
 */
import { parseHtml, serializeNodes, type HtmlElement, type HtmlNode } from './html.js';

const TAGS: Readonly<Record<string, readonly string[]>> = {
  a: ['href', 'name', 'style', 'class', 'target', 'title', 'data-role', 'data-object-class', 'data-object-id', 'data-object-key'],
  p: ['style', 'class'],
  blockquote: ['style', 'class'],
  br: [],
  span: ['style', 'class'],
  div: ['style', 'class'],
  b: ['class'],
  i: ['class'],
  u: ['class'],
  em: ['class'],
  strong: ['class'],
  img: ['src', 'style', 'class', 'alt', 'title', 'width', 'height'],
  ul: ['style', 'class'],
  ol: ['reversed', 'start', 'style', 'class', 'type'],
  li: ['style', 'class', 'value'],
  h1: ['style', 'class'],
  h2: ['style', 'class'],
  h3: ['style', 'class'],
  h4: ['style', 'class'],
  nav: ['style', 'class'],
  section: ['style', 'class'],
  code: ['style', 'class'],
  table: ['style', 'class', 'width', 'summary', 'align', 'border', 'cellpadding', 'cellspacing'],
  colgroup: [],
  col: ['style'],
  thead: ['style', 'class'],
  tbody: ['style', 'class'],
  tr: ['style', 'class', 'colspan', 'rowspan'],
  td: ['style', 'class', 'colspan', 'rowspan'],
  th: ['style', 'class', 'colspan', 'rowspan'],
  fieldset: ['style', 'class'],
  legend: ['style', 'class'],
  font: ['face', 'color', 'style', 'class', 'size'],
  big: [], small: [], tt: [], kbd: [], samp: [], var: [], del: [], s: [], ins: [], cite: [], q: [],
  hr: ['style', 'class'],
  pre: ['class'],
  center: [],
  figure: ['style', 'class'],
  figcaption: ['class'],
  mark: ['class'],
};

const STYLES = new Set([
  'aspect-ratio', 'background-color', 'border', 'border-collapse', 'bordercolor', 'cellpadding', 'cellspacing', 'color',
  'float', 'font', 'font-family', 'font-size', 'font-style', 'height', 'margin', 'margin-left', 'margin-right',
  'padding', 'text-align', 'vertical-align', 'width', 'white-space',
]);

const VALID: Readonly<Record<string, RegExp>> = {
  src: /^(http:|https:|data:)/i,
  href: /^((https?|ftp):\/\/|mailto:|(\$|%24)[\w-]*(->[\w]*(\([\w-]*?\))?)?(\$|%24))/i,
};

/** Keeps the whitelisted properties, as written, joined by `;` (iTop's CleanStyle). */
function cleanStyle(style: string): string {
  return style
    .split(';')
    .filter((item) => STYLES.has((item.trim().split(':')[0] ?? '').trim().toLowerCase()))
    .map((item) => item.trim())
    .join(';');
}

function cleanElement(el: HtmlElement): void {
  const allowed = TAGS[el.name] ?? [];
  const attrs: Array<[string, string | null]> = [];
  for (const [name, value] of el.attrs) {
    if (!allowed.includes(name)) continue;
    const pattern = VALID[name];
    if (pattern !== undefined && !pattern.test(value ?? '')) continue;
    if (name === 'style') {
      const clean = cleanStyle(value ?? '');
      if (clean !== '') attrs.push([name, clean]);
      continue;
    }
    attrs.push([name, value]);
  }
  el.attrs = attrs;
  el.children = cleanNodes(el.children);
}

function cleanNodes(nodes: readonly HtmlNode[]): HtmlNode[] {
  const kept: HtmlNode[] = [];
  for (const node of nodes) {
    if (node.type === 'raw') continue; // comments (and processing instructions) go
    if (node.type === 'element') {
      if (TAGS[node.name] === undefined) continue;
      cleanElement(node);
    }
    kept.push(node);
  }
  return kept;
}

/** Sanitizes an HTML fragment as iTop does before storing it in `priv_event_email.body`. */
export function sanitizeHtml(html: string): string {
  return serializeNodes(cleanNodes(parseHtml(html).children));
}
