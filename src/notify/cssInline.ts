/**
 * The e-mail body as iTop builds it: the rendered HTML goes into a
 * full document, the rules of iTop's `email.css` that an inliner can apply are copied into `style`
 * attributes of the matching elements (Emogrifier's CssInliner), elements hidden by `display: none` are
 * removed (HtmlPruner), some declarations are repeated as HTML attributes (`bgcolor`, `width`...,
 * CssToAttributeConverter), and the rules that cannot be inlined stay in a `<style>` block.
 *
 * The inlinable rules are the caselog header styles and the CKEditor 5 content rules that apply to plain
 * tags (lists, block quotes, code, pre, hr, font sizes), scoped to `.email-is-html-content` as iTop's
 * stylesheet scopes them. Checked against the captured mails: `ul` gets `list-style-type: disc;`, the
 * caselog table and headers get their styles and `width`/`bgcolor`, `p`/`b`/`span`/`a`/`td` get nothing.
 */
import { EMAIL_STYLE_BLOCK } from './emailStyle.js';
import { getAttr, parseHtml, serializeNodes, setAttr, type HtmlElement, type HtmlNode } from './html.js';

interface Compound {
  readonly tag: string | undefined;
  readonly classes: readonly string[];
}
interface Rule {
  /** Compounds of a descendant selector, outermost first. */
  readonly selector: readonly Compound[];
  readonly specificity: number;
  readonly order: number;
  readonly declarations: ReadonlyArray<readonly [string, string]>;
}

const SCOPE = '.email-is-html-content';
/** `selector { declarations }` of iTop's email.css that CSS1-style inlining applies. */
const INLINE_CSS: ReadonlyArray<readonly [string, string]> = [
  ['.caselog_header', 'padding: 3px; border-top: 1px solid #fff; background-color: #ddd; padding-left: 16px; width: 100%'],
  [`${SCOPE} blockquote`, 'border-left: 5px solid #ccc; font-style: italic; margin-left: 0; margin-right: 0; overflow: hidden; padding-left: 1.5em; padding-right: 1.5em'],
  [`${SCOPE} code`, 'background-color: hsla(0,0%,78%,.3); border-radius: 2px; padding: .15em'],
  [`${SCOPE} pre`, 'background: hsla(0,0%,78%,.3); border: 1px solid #c4c4c4; border-radius: 2px; color: #353535; direction: ltr; font-style: normal; min-width: 200px; padding: 1em; tab-size: 4; text-align: left; white-space: pre-wrap'],
  [`${SCOPE} pre code`, 'background: unset; border-radius: 0; padding: 0'],
  [`${SCOPE} hr`, 'background: #dedede; border: 0; height: 4px; margin: 15px 0'],
  [`${SCOPE} .text-tiny`, 'font-size: .7em'],
  [`${SCOPE} .text-small`, 'font-size: .85em'],
  [`${SCOPE} .text-big`, 'font-size: 1.4em'],
  [`${SCOPE} .text-huge`, 'font-size: 1.8em'],
  [`${SCOPE} ol`, 'list-style-type: decimal'],
  [`${SCOPE} ol ol`, 'list-style-type: lower-latin'],
  [`${SCOPE} ol ol ol`, 'list-style-type: lower-roman'],
  [`${SCOPE} ol ol ol ol`, 'list-style-type: upper-latin'],
  [`${SCOPE} ol ol ol ol ol`, 'list-style-type: upper-roman'],
  [`${SCOPE} ul`, 'list-style-type: disc'],
  [`${SCOPE} ul ul`, 'list-style-type: circle'],
  [`${SCOPE} ul ul ul`, 'list-style-type: square'],
  [`${SCOPE} ul ul ul ul`, 'list-style-type: square'],
];

/** `a: b; c: d` → [[a, b], [c, d]] (property names lower-cased, empty items dropped). */
export function parseDeclarations(style: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const item of style.split(';')) {
    const colon = item.indexOf(':');
    if (colon < 0) continue;
    const prop = item.slice(0, colon).trim().toLowerCase();
    const value = item.slice(colon + 1).trim();
    if (prop !== '' && value !== '') out.push([prop, value]);
  }
  return out;
}

function parseSelector(text: string): Compound[] {
  return text.trim().split(/\s+/).map((part) => {
    const [tag, ...classes] = part.split('.');
    return { tag: tag === '' ? undefined : tag, classes };
  });
}

const RULES: readonly Rule[] = INLINE_CSS.map(([selector, css], order) => {
  const compounds = parseSelector(selector);
  const specificity = compounds.reduce((s, c) => s + c.classes.length * 10 + (c.tag === undefined ? 0 : 1), 0);
  return { selector: compounds, specificity, order, declarations: parseDeclarations(css) };
});

function matchesCompound(el: HtmlElement, c: Compound): boolean {
  if (c.tag !== undefined && el.name !== c.tag) return false;
  const classes = (getAttr(el, 'class') ?? '').split(/\s+/);
  return c.classes.every((cls) => classes.includes(cls));
}

/** Descendant-selector matching against the element's ancestors (outermost first). */
function matches(el: HtmlElement, ancestors: readonly HtmlElement[], selector: readonly Compound[]): boolean {
  const last = selector[selector.length - 1];
  if (last === undefined || !matchesCompound(el, last)) return false;
  let s = selector.length - 2;
  for (let a = ancestors.length - 1; a >= 0 && s >= 0; a--) {
    if (matchesCompound(ancestors[a] as HtmlElement, selector[s] as Compound)) s--;
  }
  return s < 0;
}

/** Merges declarations as PHP's array_merge on property keys: an existing key keeps its place. */
function merge(into: Map<string, string>, decls: ReadonlyArray<readonly [string, string]>): void {
  for (const [prop, value] of decls) into.set(prop, value);
}

function inlineElement(el: HtmlElement, ancestors: readonly HtmlElement[]): void {
  const matched = RULES.filter((r) => matches(el, ancestors, r.selector)).sort(
    (a, b) => a.specificity - b.specificity || a.order - b.order,
  );
  const original = getAttr(el, 'style');
  if (matched.length === 0 && original === undefined) return;
  const styles = new Map<string, string>();
  for (const rule of matched) merge(styles, rule.declarations);
  merge(styles, parseDeclarations(original ?? ''));
  setAttr(el, 'style', [...styles].map(([p, v]) => `${p}: ${v};`).join(' '));
}

const ALIGN_NODES = new Set(['p', 'div', 'td', 'th']);

/** One declaration as an HTML attribute, when the element does not have it already. */
function visualAttribute(el: HtmlElement, prop: string, value: string): [string, string] | undefined {
  const v = value.toLowerCase();
  switch (prop) {
    case 'background-color':
      return ['bgcolor', value];
    case 'background': {
      const color = value.split(/\s+/).find((t) => /^(#[0-9a-f]{3,8}|[a-z]+)$/i.test(t) && !/^(none|unset|inherit|initial|transparent|repeat|no-repeat|center|top|bottom|left|right|fixed|scroll)$/i.test(t));
      return color === undefined ? undefined : ['bgcolor', color];
    }
    case 'width':
    case 'height':
      if (v === 'auto' || !/^\d+(\.\d+)?(px|%)?$/.test(v)) return undefined;
      return [prop, v.endsWith('%') ? v : String(Number.parseFloat(v))];
    case 'text-align':
      return ALIGN_NODES.has(el.name) && ['left', 'right', 'center', 'justify'].includes(v) ? ['align', v] : undefined;
    case 'float':
      return (el.name === 'table' || el.name === 'img') && (v === 'left' || v === 'right') ? ['align', v] : undefined;
    case 'border-spacing':
      return el.name === 'table' ? ['cellspacing', v.replace(/px$/, '')] : undefined;
    case 'border':
      return (el.name === 'table' || el.name === 'img') && (v === 'none' || v === '0') ? ['border', '0'] : undefined;
    case 'margin':
      return (el.name === 'table' || el.name === 'img') && v.split(/\s+/)[1] === 'auto' ? ['align', 'center'] : undefined;
    default:
      return undefined;
  }
}

function convertToAttributes(el: HtmlElement): void {
  const style = getAttr(el, 'style');
  if (style === undefined || style === null) return;
  for (const [prop, value] of parseDeclarations(style)) {
    const attr = visualAttribute(el, prop, value);
    if (attr !== undefined && getAttr(el, attr[0]) === undefined) setAttr(el, attr[0], attr[1]);
  }
}

function isHidden(el: HtmlElement): boolean {
  return parseDeclarations(getAttr(el, 'style') ?? '').some(([p, v]) => p === 'display' && /^none\b/i.test(v));
}

function walk(nodes: HtmlNode[], ancestors: HtmlElement[]): HtmlNode[] {
  const kept: HtmlNode[] = [];
  for (const node of nodes) {
    if (node.type !== 'element') {
      kept.push(node);
      continue;
    }
    inlineElement(node, ancestors);
    if (isHidden(node)) continue;
    convertToAttributes(node);
    node.children = walk(node.children, [...ancestors, node]);
    kept.push(node);
  }
  return kept;
}

/**
 * Builds the e-mail document from the rendered body HTML: `<!DOCTYPE html>`, the head with the content
 * type and the style block, the body with the inlined styles, and a final newline, as iTop stores it in
 * the queue (`body.body` of the V2 message) and sends it.
 */
export function inlineEmailCss(renderedHtml: string): string {
  const body = parseHtml(renderedHtml);
  const content = serializeNodes(walk(body.children, [body]));
  return (
    '<!DOCTYPE html>\n<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">' +
    `<style type="text/css">${EMAIL_STYLE_BLOCK}</style></head><body>${content}</body></html>\n`
  );
}
