import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Config } from '../src/config/types.js';
import { buildMail } from '../src/mail/buildMail.js';
import {
  createMailTransport,
  MailSendError,
  mailSettingsFromConfig,
  smtpOptions,
  type MailSettings,
  type SmtpSettings,
} from '../src/mail/transport.js';
import { decodeV2 } from '../src/mail/v2Message.js';
import { configWith } from './helpers/asyncTaskCtx.js';
import { NO_REFERENCE, referenceDir } from './helpers/reference.js';
import { startSmtpSink, type SmtpSink } from './helpers/smtpSink.js';
import { tempDir } from './helpers/tempDir.js';

const log = pino({ level: 'silent' });

/** Row 3 of outputs/async-email-C-queued.sql, as iTop queued it. */
const SAMPLE_C =
  'a:4:{s:4:"from";a:2:{s:7:"address";s:16:"itop@example.com";s:5:"label";s:4:"iTop";}s:2:"to";s:17:"user1@example.com";' +
  's:7:"subject";s:33:"Async email C (transport LogFile)";s:4:"body";a:2:{s:4:"body";' +
  's:39:"<p>Hello from the async email queue</p>";s:8:"mimeType";s:9:"text/html";}}';

const SAMPLE_ATTACH =
  'a:7:{s:4:"from";a:2:{s:7:"address";s:16:"itop@example.com";s:5:"label";s:13:"iTop Helpdesk";}s:2:"to";s:28:"a@example.com, b@example.com";' +
  's:2:"cc";s:13:"c@example.com";s:7:"subject";s:19:"Ticket R-1 résumé";s:4:"body";a:2:{s:4:"body";s:25:"<p>Hello <b>world</b></p>";' +
  's:8:"mimeType";s:9:"text/html";}s:11:"attachments";a:1:{i:0;a:3:{s:4:"data";s:8:"aGVsbG8=";s:8:"filename";s:9:"hello.txt";' +
  's:8:"mimeType";s:10:"text/plain";}}s:10:"message_id";s:17:"<abc@example.com>";}';

function smtp(sink: { host: string; port: number }, extra: Partial<SmtpSettings> = {}): SmtpSettings {
  return { host: sink.host, port: sink.port, encryption: '', username: '', password: '', verifyPeer: true, allowSelfSigned: false, ...extra };
}

function settingsFor(sink: SmtpSink, extra: Partial<SmtpSettings> = {}, timeoutMs = 30_000): MailSettings {
  return { transport: 'SMTP', smtp: smtp(sink, extra), timeoutMs };
}

async function withSink<T>(opts: Parameters<typeof startSmtpSink>[0], fn: (sink: SmtpSink) => Promise<T>): Promise<T> {
  const sink = await startSmtpSink(opts);
  try {
    return await fn(sink);
  } finally {
    await sink.close();
  }
}

test('queued samples decode, build and arrive over SMTP with their fields', async () => {
  await withSink({}, async (sink) => {
    const transport = createMailTransport(settingsFor(sink), log);
    try {
      const res = await transport.send(await buildMail(decodeV2(SAMPLE_ATTACH)));
      assert.equal(res.messageId, '<abc@example.com>');
      await transport.send(await buildMail(decodeV2(SAMPLE_C)));
    } finally {
      transport.close();
    }
    assert.equal(sink.messages.length, 2);
    const [first, second] = sink.messages;
    assert.ok(first && second);
    assert.deepEqual(first.envelope, { from: 'itop@example.com', to: ['a@example.com', 'b@example.com', 'c@example.com'] });
    const p = first.parsed;
    assert.deepEqual(p.from?.value, [{ address: 'itop@example.com', name: 'iTop Helpdesk' }]);
    assert.equal(p.to && !Array.isArray(p.to) ? p.to.text : '', 'a@example.com, b@example.com');
    assert.equal(p.cc && !Array.isArray(p.cc) ? p.cc.text : '', 'c@example.com');
    assert.equal(p.subject, 'Ticket R-1 résumé');
    assert.equal(p.messageId, '<abc@example.com>');
    assert.equal(p.html, '<p>Hello <b>world</b></p>');
    assert.equal(p.attachments.length, 1);
    assert.equal(p.attachments[0]?.filename, 'hello.txt');
    assert.equal(p.attachments[0]?.content.toString(), 'hello');
    assert.equal(second.parsed.subject, 'Async email C (transport LogFile)');
    // A single-part message body ends with the CRLF that precedes SMTP's final dot.
    assert.equal(String(second.parsed.html).trimEnd(), '<p>Hello from the async email queue</p>');
  });
});

test('the real notification mail of the capture arrives with its threading headers', async (t) => {
  const dir = referenceDir();
  if (!dir) return t.skip(NO_REFERENCE);
  const raw = readFileSync(join(dir, 'notifications', 'run2-async.queued-message.serialized'), 'utf8').replace(/\n$/, '');
  const msg = decodeV2(raw);
  await withSink({}, async (sink) => {
    const transport = createMailTransport(settingsFor(sink), log);
    try {
      await transport.send(await buildMail(msg, { defaultFrom: { address: 'other@example.com', label: '' } }));
    } finally {
      transport.close();
    }
    const p = sink.messages[0]?.parsed;
    assert.ok(p);
    assert.deepEqual(p.from?.value, [{ address: 'itop@example.com', name: 'iTop Helpdesk' }]);
    assert.equal(p.subject, 'Ticket R-000004 reached 75% of TTO');
    assert.equal(p.messageId, `<${msg.messageId}>`);
    assert.equal(p.inReplyTo, '<iTop_UserRequest_4@a3453d1454c1970b3c6176658327cf1c-production.openitop.org>');
    assert.equal(p.references, '<iTop_UserRequest_4@a3453d1454c1970b3c6176658327cf1c-production.openitop.org>');
    assert.equal(p.cc, undefined);
    assert.equal(p.replyTo, undefined);
    assert.equal(String(p.html).trimEnd(), msg.body?.body.trimEnd());
  });
});

test('SMTP AUTH LOGIN is used when a password is set, and errors never show the password', async () => {
  const password = 'S3cret-Pa55word';
  await withSink({ auth: { user: 'itop', pass: password } }, async (sink) => {
    const ok = createMailTransport(settingsFor(sink, { username: 'itop', password }), log);
    try {
      await ok.send({ from: 'a@x.org', to: 'b@x.org', subject: 's', text: 't' });
    } finally {
      ok.close();
    }
    assert.equal(sink.messages[0]?.user, 'itop');

    const wrong = 'Wr0ng-Pa55word';
    const bad = createMailTransport(settingsFor(sink, { username: 'itop', password: wrong }), log);
    try {
      const err = await bad.send({ from: 'a@x.org', to: 'b@x.org', subject: 's', text: 't' }).then(
        () => assert.fail('sent with a wrong password'),
        (e: unknown) => e as MailSendError,
      );
      assert.ok(err instanceof MailSendError);
      assert.equal(err.responseCode, 535);
      assert.equal(err.code, 'EAUTH');
      assert.equal(err.cause, undefined);
      const seen = `${err.message}\n${err.stack ?? ''}\n${JSON.stringify(err)}`;
      for (const secret of [wrong, Buffer.from(wrong).toString('base64')]) assert.ok(!seen.includes(secret), seen);
    } finally {
      bad.close();
    }
  });
});

test('a refused message, a refused sender and a refused connection are errors; partial refusals are reported', async () => {
  await withSink({ rejectWith: { code: 554, message: 'Message refused by policy' } }, async (sink) => {
    const transport = createMailTransport(settingsFor(sink), log);
    try {
      await assert.rejects(transport.send({ from: 'a@x.org', to: 'b@x.org', text: 't' }), (e: MailSendError) => {
        assert.equal(e.responseCode, 554);
        assert.match(e.message, /Message refused by policy/);
        return true;
      });
    } finally {
      transport.close();
    }
  });
  await withSink({ rejectWith: { code: 550, message: 'Sender unknown', at: 'mail' } }, async (sink) => {
    const transport = createMailTransport(settingsFor(sink), log);
    try {
      await assert.rejects(transport.send({ from: 'a@x.org', to: 'b@x.org', text: 't' }), /Sender unknown/);
    } finally {
      transport.close();
    }
  });
  await withSink({ rejectRecipients: ['bad@x.org'] }, async (sink) => {
    const transport = createMailTransport(settingsFor(sink), log);
    try {
      const res = await transport.send({ from: 'a@x.org', to: ['good@x.org', 'bad@x.org'], text: 't' });
      assert.deepEqual(res.rejected, ['bad@x.org']);
      assert.deepEqual(sink.messages[0]?.envelope.to, ['good@x.org']);
    } finally {
      transport.close();
    }
  });
  const closed = await startSmtpSink();
  const port = closed.port;
  await closed.close();
  const transport = createMailTransport(settingsFor({ host: '127.0.0.1', port } as SmtpSink), log);
  try {
    await assert.rejects(transport.send({ from: 'a@x.org', to: 'b@x.org', text: 't' }), /ECONNREFUSED/);
  } finally {
    transport.close();
  }
});

test('a server that never answers DATA times out, a dropped connection fails', async () => {
  await withSink({ hang: true }, async (sink) => {
    const transport = createMailTransport(settingsFor(sink, {}, 300), log);
    try {
      await assert.rejects(transport.send({ from: 'a@x.org', to: 'b@x.org', text: 't' }), (e: MailSendError) => {
        assert.equal(e.code, 'ETIMEDOUT');
        return true;
      });
    } finally {
      transport.close();
    }
    assert.equal(sink.messages.length, 0);
  });
  await withSink({ dropMidMessage: true }, async (sink) => {
    const transport = createMailTransport(settingsFor(sink, {}, 5_000), log);
    try {
      await assert.rejects(transport.send({ from: 'a@x.org', to: 'b@x.org', text: 'x'.repeat(100_000) }), MailSendError);
    } finally {
      transport.close();
    }
    assert.equal(sink.messages.length, 0);
  });
});

test('100 mails over the pooled connection all arrive, on one connection', async () => {
  await withSink({}, async (sink) => {
    const transport = createMailTransport(settingsFor(sink), log);
    try {
      const sends = Array.from({ length: 100 }, (_v, i) =>
        transport.send({ from: 'a@x.org', to: `r${i}@x.org`, subject: `mail ${i}`, text: `body ${i}` }),
      );
      const results = await Promise.all(sends);
      assert.equal(new Set(results.map((r) => r.messageId)).size, 100);
    } finally {
      transport.close();
    }
    assert.equal(sink.messages.length, 100);
    const subjects = new Set(sink.messages.map((m) => m.parsed.subject));
    for (let i = 0; i < 100; i++) assert.ok(subjects.has(`mail ${i}`), `mail ${i}`);
    assert.equal(sink.connections(), 1);
  });
});

test('LogFile appends readable messages, Null sends nothing, PHPMail needs sendmail', async (t) => {
  const dir = tempDir('itop-mail-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'mail.log');
  const base = { smtp: smtp({ host: '127.0.0.1', port: 1 }), logFile };
  const lf = createMailTransport({ ...base, transport: 'LogFile' }, log);
  await lf.send(await buildMail(decodeV2(SAMPLE_C)));
  await lf.send({ from: 'a@x.org', to: 'b@x.org', subject: 'second', text: 't' });
  const written = readFileSync(logFile, 'utf8');
  assert.match(written, /^From: iTop <itop@example\.com>\r\n/);
  assert.match(written, /\r\nTo: user1@example\.com\r\n/);
  assert.match(written, /\r\nSubject: Async email C \(transport LogFile\)\r\n/);
  assert.match(written, /<p>Hello from the async email queue<\/p>/);
  assert.match(written, /\r\nSubject: second\r\n/);
  await assert.rejects(
    createMailTransport({ transport: 'LogFile', smtp: base.smtp }, log).send({ to: 'b@x.org', text: 't' }),
    /LogFile transport needs the iTop root/,
  );

  const nul = createMailTransport({ ...base, transport: 'Null' }, log);
  assert.match((await nul.send({ from: 'a@x.org', to: 'b@x.org', text: 't' })).messageId, /^<.+@.+>$/);

  for (const transport of ['PHPMail', 'Whatever']) {
    const pm = createMailTransport({ ...base, transport, sendmailPath: join(dir, 'missing') }, log);
    assert.equal(pm.kind, 'PHPMail');
    await assert.rejects(pm.send({ from: 'a@x.org', to: 'b@x.org', text: 't' }), { message: 'Sending eMail failed: sendmail not available' });
  }
  const fake = join(dir, 'sendmail');
  writeFileSync(fake, `#!/bin/sh\necho "$@" > '${dir}/args'\ncat > '${dir}/out.eml'\n`);
  chmodSync(fake, 0o755);
  const pm = createMailTransport({ ...base, transport: 'PHPMail', sendmailPath: fake }, log);
  await pm.send({ from: 'a@x.org', to: 'b@x.org', subject: 'via sendmail', text: 't' });
  assert.match(readFileSync(join(dir, 'out.eml'), 'utf8'), /Subject: via sendmail/);
  assert.match(readFileSync(join(dir, 'args'), 'utf8'), /a@x\.org.*b@x\.org/);

  await assert.rejects(createMailTransport({ ...base, transport: 'SMTP_OAuth' }, log).send({ to: 'b@x.org' }), /SMTP_OAuth transport is not supported/);
});

test('SMTP options follow iTop settings', () => {
  const base = smtp({ host: 'mail.example.org', port: 587 });
  const plain = smtpOptions(base, 1234);
  assert.equal(plain.pool, true);
  assert.equal(plain.maxConnections, 1);
  assert.equal(plain.secure, false);
  assert.equal(plain.requireTLS, false);
  assert.equal(plain.opportunisticTLS, true);
  assert.equal(plain.auth, undefined);
  assert.equal(plain.socketTimeout, 1234);
  assert.equal(plain.connectionTimeout, 1234);
  assert.equal(plain.greetingTimeout, 1234);
  const ssl = smtpOptions({ ...base, encryption: 'ssl', username: 'u', password: 'p' });
  assert.equal(ssl.secure, true);
  assert.equal(ssl.tls?.rejectUnauthorized, true);
  assert.deepEqual(ssl.auth, { user: 'u', pass: 'p' });
  assert.equal(ssl.authMethod, 'LOGIN');
  const tls = smtpOptions({ ...base, encryption: 'TLS', verifyPeer: false });
  assert.equal(tls.requireTLS, true);
  assert.equal(tls.opportunisticTLS, false);
  assert.equal(tls.tls?.rejectUnauthorized, false);
  assert.equal(smtpOptions({ ...base, encryption: 'tls', allowSelfSigned: true }).tls?.rejectUnauthorized, false);
  // iTop authenticates only when the password is set.
  assert.equal(smtpOptions({ ...base, username: 'u' }).auth, undefined);
});

test('mailSettingsFromConfig reads iTop settings with their defaults', () => {
  const config = (settings: Config['settings'], appRoot?: string): Config =>
    configWith({ host: 'h', user: 'u', password: 'p', name: 'n', prefix: '', tlsEnabled: false, tlsCa: undefined, socketPath: undefined }, settings, appRoot);
  const defaults = mailSettingsFromConfig(config({}));
  assert.deepEqual(defaults, {
    transport: 'PHPMail',
    smtp: { host: 'localhost', port: 25, encryption: '', username: '', password: '', verifyPeer: true, allowSelfSigned: false },
  });
  const set = mailSettingsFromConfig(
    config(
      {
        email_transport: 'SMTP',
        'email_transport_smtp.host': 'smtp.example.org',
        'email_transport_smtp.port': '465',
        'email_transport_smtp.encryption': 'ssl',
        'email_transport_smtp.username': 'itop',
        'email_transport_smtp.password': 'pw',
        'email_transport_smtp.verify_peer': false,
        'email_transport_smtp.allow_self_signed': '1',
        email_default_sender_address: 'itop@example.org',
        email_default_sender_label: 'iTop',
      },
      '/var/www/itop',
    ),
  );
  assert.deepEqual(set, {
    transport: 'SMTP',
    smtp: { host: 'smtp.example.org', port: 465, encryption: 'ssl', username: 'itop', password: 'pw', verifyPeer: false, allowSelfSigned: true },
    logFile: '/var/www/itop/log/mail.log',
    defaultFrom: { address: 'itop@example.org', label: 'iTop' },
  });
});
