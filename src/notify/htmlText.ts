/**
 * HTML to plain text, as iTop renders HTML attributes and case log entries for `$this->text(x)$`,
 * `$this->head(log)$` and `$this->log$`: tags dropped, entities decoded, whitespace collapsed, links as
 * `[text](url)`, line breaks for `<br>` and block elements.
 */
import { getAttr, parseHtml, type HtmlNode } from './html.js';

const BLOCKS = new Set([
  'p', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'li', 'ul', 'ol', 'table', 'tr', 'blockquote', 'pre', 'hr', 'section',
  'article', 'header', 'footer', 'nav', 'figure', 'dl', 'dt', 'dd',
]);

function walk(nodes: readonly HtmlNode[], pre: boolean): string {
  let out = '';
  for (const node of nodes) {
    if (node.type === 'raw') continue;
    if (node.type === 'text') {
      out += pre ? node.value : node.value.replace(/\s+/g, ' ');
      continue;
    }
    if (node.name === 'script' || node.name === 'style') continue;
    if (node.name === 'br') {
      out += '\n';
      continue;
    }
    const inner = walk(node.children, pre || node.name === 'pre');
    if (node.name === 'a') {
      const href = getAttr(node, 'href');
      out += href && href !== inner.trim() ? `[${inner.trim()}](${href})` : inner;
    } else if (node.name === 'td' || node.name === 'th') {
      out += `${inner.trim()} `;
    } else if (BLOCKS.has(node.name)) {
      out += `\n${inner}\n`;
    } else {
      out += inner;
    }
  }
  return out;
}

/** The plain-text rendering of an HTML fragment. */
export function htmlToText(html: string): string {
  return walk(parseHtml(html).children, false)
    .split('\n')
    .map((line) => line.replace(/^ +| +$/g, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
