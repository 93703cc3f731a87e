/**
 * Threshold notifications, run 3 of the captures: four triggers on
 * tto 75 % (parent class with a matching filter, a filter that does not match, a console-only context)
 * and eight actions (the placeholder catalog, test mode, disabled, no recipient, bad recipients, forced
 * async). Every event row, subscription row and mail is compared with what iTop wrote and sent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ParsedMail } from 'mailparser';
import { activateThresholdTriggers } from '../src/notify/index.js';
import { createExecAsyncTask } from '../src/tasks/ExecAsyncTask.js';
import { capturedRows, eventRows, NOTIF, parseCapturedMail, queuedFormOfSentHtml, replay, setup } from './fixtures/notify/harness.js';
import { startSmtpSink } from './helpers/smtpSink.js';

const HIT = { class: 'UserRequest', id: 5, stopwatch: 'tto', threshold: 75 } as const;
const BADGE_ID = /ibo-field-badge-[0-9a-f]+/g;

function comparable(mail: ParsedMail) {
  return {
    subject: mail.subject,
    from: mail.from?.value,
    to: mail.to,
    cc: mail.cc,
    replyTo: mail.replyTo?.value,
    references: mail.references,
    inReplyTo: mail.inReplyTo,
    html: String(mail.html).replace(BADGE_ID, 'ibo-field-badge-X'),
  };
}

test('run 3: triggers, actions, events, subscriptions and the five mails are iTop\'s', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const tdb = await replay(t, 'before-notification-run3.sql');
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const { ctx, lines } = setup(t, tdb, {
    email_transport: 'SMTP', 'email_transport_smtp.host': sink.host, 'email_transport_smtp.port': sink.port,
    email_asynchronous: false,
  }, '2026-11-24 00:43:52');
  await activateThresholdTriggers(ctx(), HIT);
  assert.equal(sink.messages.length, 4, 'four synchronous mails; the forced-async one is queued');

  const real = await capturedRows(tdb, 'run3-extras.event-rows.sql');
  for (let id = 3; id <= 9; id++) {
    const i = id - 3;
    const event = [...(real.get('priv_event')?.[i] ?? [])];
    event[2] = '2026-11-24 00:43:52'; // iTop's clock moved on to :53 for events 7-9
    if (id === 9) event[1] = 'Pending';
    assert.deepEqual(await eventRows(tdb, id), [event, real.get('priv_event_notification')?.[i], real.get('priv_event_email')?.[i]], `event #${id}`);
  }
  assert.equal((await tdb.query('SELECT id FROM priv_event WHERE id > 9')).length, 0, 'no event for the disabled action, the filter or the context');

  const links = await tdb.query('SELECT id, action_id, contact_id, trigger_id, subscribed FROM priv_lnk_action_notif_to_contact ORDER BY id');
  assert.deepEqual(links.map((l) => Object.values(l)), [
    [1, 5, 3, 4, 1], [2, 6, 2, 4, 0], [3, 12, 3, 5, 1], [4, 7, 3, 4, 1], [5, 7, 1, 4, 1], [6, 6, 3, 4, 1], [7, 6, 1, 4, 1], [8, 11, 3, 4, 1],
  ]);
  const changes = await tdb.query("SELECT c.id FROM priv_change c WHERE c.date = '2026-11-24 00:43:52'");
  assert.equal(changes.length, 1, 'one history change for the six new links');
  const ops = await tdb.query('SELECT objkey FROM priv_changeop WHERE changeid = ? ORDER BY id', [(changes[0] as { id: number }).id]);
  assert.deepEqual(ops.map((o) => Object.values(o)[0]), [3, 4, 5, 6, 7, 8]);

  assert.equal(await createExecAsyncTask().process(ctx()), 'processed 1 tasks');
  assert.deepEqual(await tdb.query('SELECT message FROM priv_event WHERE id = 9'), [{ message: 'Sent' }]);
  assert.equal(sink.messages.length, 5);
  for (let i = 0; i < 5; i++) {
    const captured = await parseCapturedMail(`run3-mails/mail-0${i + 1}.eml`);
    const expected = comparable(captured);
    expected.html = queuedFormOfSentHtml(expected.html);
    if (i === 3) {
      // mailparser reads the parentheses of iTop's encoded word as a comment ('iTop  '); the header says:
      const header = captured.headerLines.find((h) => h.key === 'from')?.line;
      assert.equal(header, 'From: =?UTF-8?Q?iTop=20(R-000005)?= <noreply@example.com>');
      expected.from = [{ address: 'noreply@example.com', name: 'iTop (R-000005)' }];
    }
    assert.deepEqual(comparable(sink.messages[i]!.parsed), expected, `mail-0${i + 1}`);
  }
  assert.deepEqual(sink.messages[2]!.envelope.to, ['tester@example.com'], 'test mode: only the test recipient');
  assert.deepEqual(sink.messages[3]!.envelope.to, ['caller.notif@example.com', 'my.email@foo.org'], 'the unsubscribed bcc is left out');

  const logged = lines().filter((l) => l['level'] === 50).map((l) => l['oql']);
  assert.deepEqual(logged, ['SELECT Organization', 'SELEC Person'], 'the bad recipient queries are logged with the query');
});
