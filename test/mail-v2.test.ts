import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import type { Options } from 'nodemailer/lib/mailer';
import { parseAddressList } from '../src/mail/addresses.js';
import { buildMail, type InlineImage } from '../src/mail/buildMail.js';
import { decodeV2, encodeV2, type V2Message } from '../src/mail/v2Message.js';
import { NO_REFERENCE, referenceDir } from './helpers/reference.js';

/** Row 1 of outputs/async-email-A-queued.sql, as iTop queued it (kept here so the test runs without shared/). */
const SAMPLE_A =
  'a:4:{s:4:"from";a:2:{s:7:"address";s:16:"itop@example.com";s:5:"label";s:4:"iTop";}s:2:"to";s:17:"user1@example.com";' +
  's:7:"subject";s:46:"Async email A (transport PHPMail, no sendmail)";s:4:"body";a:2:{s:4:"body";' +
  's:39:"<p>Hello from the async email queue</p>";s:8:"mimeType";s:9:"text/html";}}';

/** The sample of: attachments and a bracketed message id. */
const SAMPLE_SPEC =
  'a:7:{s:4:"from";a:2:{s:7:"address";s:16:"itop@example.com";s:5:"label";s:4:"iTop";}s:2:"to";s:28:"a@example.com, b@example.com";' +
  's:2:"cc";s:13:"c@example.com";s:7:"subject";s:6:"Héllo";s:4:"body";a:2:{s:4:"body";s:25:"<p>Hello <b>world</b></p>";' +
  's:8:"mimeType";s:9:"text/html";}s:11:"attachments";a:1:{i:0;a:3:{s:4:"data";s:8:"aGVsbG8=";s:8:"filename";s:9:"hello.txt";' +
  's:8:"mimeType";s:10:"text/plain";}}s:10:"message_id";s:17:"<abc@example.com>";}';

/** The `message` column of every `priv_async_send_email` row of a mysqldump file. */
function queuedMessages(sqlFile: string): string[] {
  const rows = readFileSync(sqlFile, 'utf8').split('\n').filter((l) => l.startsWith('INSERT INTO `priv_async_send_email`'));
  return rows.map((l) => {
    const m = /,'(a:\d+:\{.*\})'\);$/.exec(l);
    assert.ok(m?.[1], l);
    return m[1].replace(/\\(.)/g, (_s, c: string) => ({ n: '\n', r: '\r', t: '\t', '0': '\0' })[c] ?? c);
  });
}

test('the queued sample decodes with its fields, in iTop key order, and re-encodes byte for byte', () => {
  const msg = decodeV2(SAMPLE_A);
  assert.deepEqual(msg, {
    from: { address: 'itop@example.com', label: 'iTop' },
    to: 'user1@example.com',
    subject: 'Async email A (transport PHPMail, no sendmail)',
    body: { body: '<p>Hello from the async email queue</p>', mimeType: 'text/html' },
  });
  assert.deepEqual(Object.keys(msg), ['from', 'to', 'subject', 'body']);
  assert.equal(encodeV2(msg), SAMPLE_A);
  assert.equal(encodeV2(decodeV2(Buffer.from(SAMPLE_A))), SAMPLE_A);
});

test('attachments are decoded from base64, and the spec sample round-trips', () => {
  const msg = decodeV2(SAMPLE_SPEC);
  assert.equal(msg.subject, 'Héllo');
  assert.equal(msg.messageId, '<abc@example.com>');
  assert.equal(msg.attachments?.length, 1);
  assert.equal(msg.attachments?.[0]?.data.toString(), 'hello');
  assert.equal(msg.attachments?.[0]?.filename, 'hello.txt');
  assert.equal(encodeV2(msg), SAMPLE_SPEC);
});

test('the real dumps and the notification capture round-trip byte for byte', (t) => {
  const dir = referenceDir();
  if (!dir) return t.skip(NO_REFERENCE);
  const samples = [
    ...queuedMessages(join(dir, 'outputs', 'async-email-A-queued.sql')),
    ...queuedMessages(join(dir, 'outputs', 'async-email-C-queued.sql')),
  ];
  assert.equal(samples.length, 4);
  assert.equal(samples[0], SAMPLE_A);
  const run2 = readFileSync(join(dir, 'notifications', 'run2-async.queued-message.serialized'), 'utf8').replace(/\n$/, '');
  for (const s of [...samples, run2]) assert.equal(encodeV2(decodeV2(s)), s);

  const msg = decodeV2(run2);
  assert.deepEqual(Object.keys(msg), ['from', 'subject', 'body', 'to', 'cc', 'bcc', 'replyTo', 'headers', 'messageId']);
  assert.deepEqual(msg.replyTo, { address: '', label: '' });
  assert.equal(msg.cc, '');
  assert.equal(msg.messageId, 'iTop_UserRequest_4_1795477198.849442@a3453d1454c1970b3c6176658327cf1c-production.openitop.org');
  assert.deepEqual(Object.keys(msg.headers ?? {}), ['References', 'In-Reply-To']);
  assert.equal(Buffer.byteLength(msg.body?.body ?? ''), 15207);
});

test('a new message encodes with its own property order', () => {
  const msg: V2Message = {
    from: { address: 'f@x.org', label: 'F' },
    subject: 'S',
    to: 'a@x.org',
    parts: [{ text: 'plain', mimeType: 'text/plain' }],
    headers: { 'X-A': '1' },
  };
  assert.equal(
    encodeV2(msg),
    'a:5:{s:4:"from";a:2:{s:7:"address";s:7:"f@x.org";s:5:"label";s:1:"F";}s:7:"subject";s:1:"S";s:2:"to";s:7:"a@x.org";' +
      's:5:"parts";a:1:{i:0;a:2:{s:4:"text";s:5:"plain";s:8:"mimeType";s:10:"text/plain";}}s:7:"headers";a:1:{s:3:"X-A";s:1:"1";}}',
  );
  assert.deepEqual(decodeV2(encodeV2(msg)), msg);
});

test('wrong types and corrupt data are reported as a corrupted V2 message', () => {
  const bad: Array<[string, RegExp]> = [
    ['s:3:"abc";', /Corrupted V2 message: not an array but string$/],
    ['a:1:{s:4:"from";s:3:"abc";}', /Corrupted V2 message: from must be an array, got string$/],
    ['a:1:{s:2:"to";i:3;}', /Corrupted V2 message: to must be a string, got number$/],
    ['a:1:{s:4:"body";a:1:{s:8:"mimeType";s:9:"text/html";}}', /Corrupted V2 message: body \.body must be a string, got nothing$/],
    ['a:1:{s:11:"attachments";a:1:{i:0;a:1:{s:4:"data";s:3:"%%%";}}}', /Corrupted V2 message: attachments\[0\] \.data is not base64$/],
    ['a:1:{s:7:"headers";a:1:{s:1:"X";b:1;}}', /Corrupted V2 message: headers\.X must be a string, got boolean$/],
    ['a:1:{s:4:"from";O:8:"stdClass":0:{}}', /Corrupted V2 message: Unsupported PHP serialized type O at offset 16$/],
    [SAMPLE_A.slice(0, 100), /Corrupted V2 message: .* at offset \d+$/],
  ];
  for (const [input, re] of bad) assert.throws(() => decodeV2(input), re, input);
  // Unknown keys are ignored, null counts as absent.
  assert.deepEqual(decodeV2('a:2:{s:5:"extra";i:1;s:2:"cc";N;}'), {});
});

test('address lists parse into nodemailer addresses, and a bad item is named', () => {
  assert.deepEqual(parseAddressList('a@x.org, "Name, Jr" <b@y.org>,Plain Name <c@z.org>, <d@w.org>,'), [
    { name: '', address: 'a@x.org' },
    { name: 'Name, Jr', address: 'b@y.org' },
    { name: 'Plain Name', address: 'c@z.org' },
    { name: '', address: 'd@w.org' },
  ]);
  assert.deepEqual(parseAddressList(''), []);
  assert.throws(
    () => parseAddressList("a@x.org, The objects of the class 'Team' do not have any email attribute", 'to'),
    { message: `Invalid address in to: "The objects of the class 'Team' do not have any email attribute"` },
  );
  assert.throws(() => parseAddressList('a@x.org; b@y.org', 'cc'), /Invalid address in cc: "a@x.org; b@y.org"/);
  assert.throws(() => parseAddressList('Name <not an address>'), /Invalid address in address list: "Name <not an address>"/);
});

async function render(mail: Options) {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const info = await t.sendMail(mail);
  return simpleParser(info.message as Buffer);
}

test('buildMail replays the fields; From falls back to the default sender, then to To', async () => {
  const msg = decodeV2(SAMPLE_SPEC);
  const mail = await buildMail(msg);
  assert.equal(mail.messageId, '<abc@example.com>');
  assert.deepEqual(mail.from, { name: 'iTop', address: 'itop@example.com' });
  assert.deepEqual(mail.cc, [{ name: '', address: 'c@example.com' }]);
  assert.equal(mail.html, '<p>Hello <b>world</b></p>');
  // The property order follows iTop's replay order (body, message_id, bcc, cc, from, reply_to, to, subject, …).
  assert.deepEqual(Object.keys(mail), ['html', 'messageId', 'cc', 'to', 'subject', 'attachments', 'from']);

  const noFrom: V2Message = { to: 'a@x.org, b@x.org', subject: 's', body: { body: 'hi', mimeType: 'text/plain' }, from: { address: '', label: '' } };
  const withDefault = await buildMail(noFrom, { defaultFrom: { address: 'noreply@x.org', label: 'No Reply' } });
  assert.deepEqual(withDefault.from, { name: 'No Reply', address: 'noreply@x.org' });
  assert.equal(withDefault.text, 'hi');
  assert.equal(withDefault.html, undefined);
  const fromTo = await buildMail(noFrom, { defaultFrom: { address: '', label: 'ignored' } });
  assert.deepEqual(fromTo.from, { name: '', address: 'a@x.org' });
});

test('buildMail: Message-ID brackets, empty lists, Reply-To without label, headers and parts', async () => {
  const mail = await buildMail({
    messageId: 'id_1.2@host.example',
    bcc: '',
    cc: '',
    replyTo: { address: 'r@x.org', label: 'Dropped' },
    to: 'a@x.org',
    headers: { References: '<ref@x>', 'In-Reply-To': '<ref@x>' },
    body: { body: '<p>x</p>', mimeType: 'text/html' },
    parts: [{ text: 'x', mimeType: 'text/plain' }, { text: 'BEGIN:VCALENDAR', mimeType: 'text/calendar' }],
  });
  assert.equal(mail.messageId, '<id_1.2@host.example>');
  assert.equal(mail.cc, undefined);
  assert.equal(mail.bcc, undefined);
  assert.deepEqual(mail.replyTo, [{ name: '', address: 'r@x.org' }]);
  assert.equal(mail.text, 'x');
  const parsed = await render(mail);
  assert.equal(parsed.messageId, '<id_1.2@host.example>');
  assert.equal(parsed.headers.get('references'), '<ref@x>');
  assert.equal(parsed.inReplyTo, '<ref@x>');
  assert.equal(parsed.replyTo?.text, 'r@x.org');
  assert.equal(parsed.text?.trim(), 'x');
  assert.equal(parsed.html, '<p>x</p>');
  await assert.rejects(buildMail({ to: 'a@x.org, oops' }), /Invalid address in to: "oops"/);
});

test('inline images with a matching secret become cid: parts, others are left alone', async () => {
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  const images = new Map<string, InlineImage>([['12', { data: png, mimeType: 'image/png', filename: 'logo.png', secret: 'a1b2c3' }]]);
  const lookups: string[] = [];
  const inlineImages = async (id: string, secret: string): Promise<InlineImage | undefined> => {
    lookups.push(`${id}/${secret}`);
    return images.get(id);
  };
  const html =
    '<p><img src="/itop/pages/ajax.render.php?id=12" data-img-id="12" data-img-secret="a1b2c3" alt="x">' +
    "<img data-img-secret='a1b2c3' data-img-id='12'/>" +
    '<img src="x.png" data-img-id="12" data-img-secret="wrong">' +
    '<img src="y.png" data-img-id="99" data-img-secret="zz"><img src="plain.png"></p>';
  const mail = await buildMail({ to: 'a@x.org', body: { body: html, mimeType: 'text/html' } }, { inlineImages });
  assert.deepEqual(lookups, ['12/a1b2c3', '12/wrong', '99/zz']);
  const atts = mail.attachments ?? [];
  assert.equal(atts.length, 1);
  const cid = atts[0]?.cid ?? '';
  assert.match(cid, /^[0-9a-f]{16}\.12@itop-cron$/);
  const out = String(mail.html);
  assert.equal(out.split(`src="cid:${cid}"`).length - 1, 2);
  assert.ok(out.includes('<img src="x.png" data-img-id="12" data-img-secret="wrong">'));
  assert.ok(out.includes('<img src="y.png" data-img-id="99" data-img-secret="zz">'));
  assert.ok(out.includes('alt="x"'));

  const parsed = await render(mail);
  const inline = parsed.attachments.find((a) => a.contentId === `<${cid}>`);
  assert.ok(inline);
  assert.deepEqual(inline.content, png);
  assert.equal(inline.contentType, 'image/png');
  // Without a lookup the body is left as it is.
  assert.equal((await buildMail({ body: { body: html, mimeType: 'text/html' } })).html, html);
});
