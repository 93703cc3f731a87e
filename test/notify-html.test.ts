/**
 * The HTML side of notifications, without a database: DOMDocument-like normalization, CSS inlining as
 * in iTop's mails, the sanitized copy stored in the event, HTML to text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inlineEmailCss } from '../src/notify/cssInline.js';
import { EMAIL_STYLE_BLOCK } from '../src/notify/emailStyle.js';
import { parseHtml, serializeNodes } from '../src/notify/html.js';
import { htmlToText } from '../src/notify/htmlText.js';
import { testBanner } from '../src/notify/mailParts.js';
import { sanitizeHtml } from '../src/notify/sanitize.js';

const normalize = (html: string) => serializeNodes(parseHtml(html).children);
const bodyOf = (doc: string) => doc.slice(doc.indexOf('<body>') + 6, doc.lastIndexOf('</body>'));

test('normalization as libxml2: entities, implied and stray end tags, unknown tags, URL attributes', () => {
  assert.equal(normalize('a & b &amp; c &eacute; &#233; &bogus; <b>x</b>'), 'a &amp; b &amp; c é é &amp;bogus; <b>x</b>');
  assert.equal(normalize('<P CLASS=x>one<div>two</div></p>'), '<p class="x">one</p><div>two</div>');
  assert.equal(normalize('<ul><li>a<li>b</ul></p>'), '<ul><li>a</li><li>b</li></ul>');
  assert.equal(normalize('<li>References: <iTop_UserRequest_5@abc-production.openitop.org></li>'), '<li>References: <itop_userrequest_5></itop_userrequest_5></li>');
  assert.equal(normalize('<b><div>x</b>y</div>'), '<b><div>xy</div></b>', 'an end tag cannot close a block it is not allowed to');
  assert.equal(normalize('<br/><img src="a b.png" alt="x > y"><a href="http://x/é?a=1&b=2">l</a>'), '<br><img src="a%20b.png" alt="x &gt; y"><a href="http://x/%C3%A9?a=1&amp;b=2">l</a>');
  assert.equal(normalize('<table border=1>\n<tr><td>1</td></tr></table><!-- c -->'), '<table border="1">\n<tr><td>1</td></tr></table><!-- c -->');
});

test('the test-mode banner becomes what iTop sent (mail-03)', () => {
  const banner = testBanner({
    actionLink: '<span class="object-ref " title="Notification by Email::7"><a class="object-ref-link" href="http://localhost/itop/pages/UI.php?operation=details&amp;class=ActionEmail&amp;id=7&amp;">Test-mode action</a></span>',
    to: 'caller.notif@example.com', cc: 'my.email@foo.org', bcc: '', from: 'itop@example.com', fromLabel: '', replyTo: '',
    references: '<iTop_UserRequest_5@a3453d1454c1970b3c6176658327cf1c-production.openitop.org>',
  });
  const doc = inlineEmailCss(`<div class="email-is-html-content">\n\t<p>Test-mode body for R-000005</p>\n</div>${banner}`);
  assert.equal(bodyOf(doc), '<div class="email-is-html-content">\n\t<p>Test-mode body for R-000005</p>\n</div><div style="border: dashed;">\n' +
    '<h1>Testing email notification <span class="object-ref " title="Notification by Email::7"><a class="object-ref-link" href="http://localhost/itop/pages/UI.php?operation=details&amp;class=ActionEmail&amp;id=7&amp;">Test-mode action</a></span></h1>\n' +
    '<p>The email should be sent with the following properties\n</p><ul>\n<li>TO: caller.notif@example.com</li>\n<li>CC: my.email@foo.org</li>\n' +
    '<li>BCC: </li>\n<li>From: itop@example.com</li>\n<li>Reply-To: </li>\n<li>References: <itop_userrequest_5></itop_userrequest_5></li>\n</ul>\n\n</div>\n');
  assert.ok(doc.startsWith(`<!DOCTYPE html>\n<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style type="text/css">${EMAIL_STYLE_BLOCK}</style></head><body>`));
  assert.ok(doc.endsWith('</body></html>\n'));
  assert.equal(testBanner({ actionLink: '', to: '', cc: '', bcc: '', from: 'a@b.org', fromLabel: 'A & B', replyTo: '', references: '' }).includes('From: A &amp; B &lt;a@b.org&gt;'), true);
});

test('CSS inlining: the scoped list rules, the caselog table, existing styles last, display:none pruned', () => {
  const body = bodyOf(inlineEmailCss(
    '<div class="email-is-html-content"><ul><li>a<ul><li>b</li></ul></li></ul><ol><li>c</li></ol>' +
      '<table style="width:100%;table-layout:fixed"><tr><td><div class="caselog_header"><span class="caselog_header_date">d</span></div>' +
      '<div class="caselog_entry_html" style="">e</div></td></tr></table>' +
      '<p style="color:red">p</p><ul style="list-style-type: none; color: blue">f</ul><span style="display: none">hidden</span></div>' +
      '<ul><li>outside the scope</li></ul>',
  ));
  assert.equal(body, '<div class="email-is-html-content"><ul style="list-style-type: disc;"><li>a<ul style="list-style-type: circle;"><li>b</li></ul></li></ul>' +
    '<ol style="list-style-type: decimal;"><li>c</li></ol>' +
    '<table style="width: 100%; table-layout: fixed;" width="100%"><tr><td><div class="caselog_header" style="padding: 3px; border-top: 1px solid #fff; background-color: #ddd; padding-left: 16px; width: 100%;" bgcolor="#ddd" width="100%"><span class="caselog_header_date">d</span></div>' +
    '<div class="caselog_entry_html" style="">e</div></td></tr></table>' +
    '<p style="color: red;">p</p><ul style="list-style-type: none; color: blue;">f</ul></div><ul><li>outside the scope</li></ul>');
});

test('the event copy is sanitized as iTop\'s HTMLDOMSanitizer does', () => {
  assert.equal(
    sanitizeHtml('<div class="a" id="b" onclick="x()"><span class="object-ref " data-tooltip-content="u" title="t"><a class="l" href="http://x/?a=1&amp;b=2">R</a></span></div>'),
    '<div class="a"><span class="object-ref "><a class="l" href="http://x/?a=1&amp;b=2">R</a></span></div>',
  );
  assert.equal(
    sanitizeHtml('<table style="width:100%;table-layout:fixed" border="1"><tr><td><div style="">x</div></td></tr></table><!-- c --><script>alert(1)</script><h5>gone</h5>'),
    '<table style="width:100%" border="1"><tr><td><div>x</div></td></tr></table>',
  );
  // libxml2 percent-escapes `$` in URLs: this is why iTop stores `href="%24APP_URL%24..."` in templates.
  assert.equal(sanitizeHtml('<a href="javascript:alert(1)">x</a><a href="$this->url()$">y</a><img src="cid:1">'), '<a>x</a><a href="%24this-&gt;url()%24">y</a><img>');
});

test('HTML to text: tags dropped, links in brackets, lines for blocks and breaks', () => {
  assert.equal(htmlToText('<p>Description with <b>bold</b> &amp; a <a href="https://example.com/doc">link</a></p>'), 'Description with bold & a [link](https://example.com/doc)');
  assert.equal(htmlToText('<p>one</p><p>two<br>three</p>'), 'one\n\ntwo\nthree');
  assert.equal(htmlToText('<p>Second <i>public</i> entry</p>'), 'Second public entry');
});
