/**
 * Threshold notifications end to end through CheckStopWatchThresholds, and what iTop records when things
 * go wrong: an SMTP refusal, a sendmail-less PHPMail, a test-mode failure, a broken trigger filter, an
 * unsupported recipient query, a contact without address, `log_notification` off.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import type { PhpArray } from '../src/config/types.js';
import { activateThresholdTriggers, TriggerError } from '../src/notify/index.js';
import { checkStopWatchThresholds } from '../src/tasks/CheckStopWatchThresholds.js';
import { NOTIF, parseCapturedMail, queuedFormOfSentHtml, replay, setup } from './fixtures/notify/harness.js';
import { startSmtpSink, type SinkOptions } from './helpers/smtpSink.js';
import type { TestDb } from './helpers/testDb.js';

const HIT = { class: 'UserRequest', id: 3, stopwatch: 'tto', threshold: 75 } as const;

async function run1(t: TestContext, sinkOpts: SinkOptions = {}, settings: PhpArray = {}) {
  const tdb = await replay(t, 'before-notification.sql');
  const sink = await startSmtpSink(sinkOpts);
  t.after(() => sink.close());
  const s = setup(t, tdb, {
    email_transport: 'SMTP', 'email_transport_smtp.host': sink.host, 'email_transport_smtp.port': sink.port, ...settings,
  }, '2026-11-24 00:38:05');
  return { tdb, sink, ...s };
}

async function message(tdb: TestDb, id: number): Promise<unknown> {
  return (await tdb.query<{ message: string }>('SELECT message FROM priv_event WHERE id = ?', [id]))[0]?.message;
}

test('end to end: CheckStopWatchThresholds marks tto 75 of R-000003 and the notification goes out', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const { tdb, sink, ctx } = await run1(t);
  assert.equal(await checkStopWatchThresholds.process(ctx()), 'Triggered 1 threshold(s):UserRequest::3 tto 75');
  assert.equal(sink.messages.length, 1);
  const real = await parseCapturedMail('run1-sync.mail.log');
  assert.equal(sink.messages[0]!.parsed.html, queuedFormOfSentHtml(String(real.html)));
  assert.equal(await message(tdb, 1), 'Sent');
  assert.deepEqual(await tdb.query('SELECT tto_75_triggered FROM ticket_request WHERE id = 3'), [{ tto_75_triggered: 1 }]);
  assert.equal(await checkStopWatchThresholds.process(ctx()), 'Triggered 0 threshold(s):');
  assert.equal(sink.messages.length, 1, 'a threshold notifies once');
});

test('an SMTP refusal is the event\'s `Error: ...`; nothing is queued and the threshold stays marked', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const { tdb, sink, ctx } = await run1(t, { rejectWith: { code: 550, message: 'Mailbox unavailable' } });
  assert.equal(await checkStopWatchThresholds.process(ctx()), 'Triggered 1 threshold(s):UserRequest::3 tto 75');
  assert.equal(sink.messages.length, 0);
  assert.match(String(await message(tdb, 1)), /^Error: .*550 Mailbox unavailable/);
  assert.deepEqual(await tdb.query('SELECT `to`, subject FROM priv_event_email WHERE id = 1'), [
    { to: 'caller.notif@example.com', subject: 'Ticket R-000003 reached 75% of TTO' },
  ]);
  assert.equal((await tdb.query('SELECT id FROM priv_async_task WHERE event_id = 1')).length, 0);
  assert.deepEqual(await tdb.query('SELECT tto_75_triggered FROM ticket_request WHERE id = 3'), [{ tto_75_triggered: 1 }]);
});

test('a failure in test mode records `Error: ...` without the TEST prefix, as iTop', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const { tdb, ctx } = await run1(t, { rejectWith: { code: 554, message: 'No thanks' } });
  await tdb.execute("UPDATE priv_action SET status = 'test' WHERE id = 5");
  await tdb.execute("UPDATE priv_action_email SET test_recipient = 'tester@example.com' WHERE id = 5");
  await activateThresholdTriggers(ctx(), HIT);
  assert.match(String(await message(tdb, 1)), /^Error: .*554 No thanks/);
});

test('PHPMail without a sendmail binary: the event says `Error: ...`', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  if (existsSync('/usr/sbin/sendmail')) return t.skip('a sendmail binary is installed here');
  const { tdb, ctx } = await run1(t, {}, { email_transport: 'PHPMail' });
  await activateThresholdTriggers(ctx(), HIT);
  assert.equal(await message(tdb, 1), 'Error: Sending eMail failed: sendmail not available');
});

test('a trigger filter that is not valid OQL ends the pass with iTop\'s message; the mark stays', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const { tdb, sink, ctx } = await run1(t);
  await tdb.execute("UPDATE priv_trigger_onobject SET filter = 'SELECT UserRequest WHERE' WHERE id = 4");
  await assert.rejects(activateThresholdTriggers(ctx(), HIT), (e: Error) => {
    assert.ok(e instanceof TriggerError);
    assert.equal(
      e.message,
      "Unexpected token $ - found '0' at 0 in 'SELECT UserRequest WHERE' " +
        '(<b title="Trigger">TriggerOnThresholdReached</b>::4 (UserRequest TTO 75% reached)<br/>)',
    );
    return true;
  });
  assert.equal(sink.messages.length, 0);
  assert.equal((await tdb.query('SELECT id FROM priv_event')).length, 0);
  // Through the task: the pass fails after saving the mark, as cron.php's does.
  await assert.rejects(checkStopWatchThresholds.process(ctx()), TriggerError);
  assert.deepEqual(await tdb.query('SELECT tto_75_triggered FROM ticket_request WHERE id = 3'), [{ tto_75_triggered: 1 }]);
});

test('a filter that matches, one that does not, and one itop-cron cannot translate', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const { tdb, sink, ctx, lines } = await run1(t);
  const filter = (oql: string) => tdb.execute('UPDATE priv_trigger_onobject SET filter = ? WHERE id = 4', [oql]);
  await filter("SELECT UserRequest WHERE priority = '1'");
  await activateThresholdTriggers(ctx(), HIT);
  assert.equal(sink.messages.length, 0);
  await filter("SELECT UserRequest AS u WHERE u.caller_id = 3 AND (u.priority = '4' OR u.org_name = 'nope') AND u.title LIKE 'Printer%'");
  await activateThresholdTriggers(ctx(), HIT);
  assert.equal(sink.messages.length, 1);
  await filter('SELECT UserRequest WHERE id IN (SELECT UserRequest)');
  await assert.rejects(activateThresholdTriggers(ctx(), HIT), /OQL not supported by itop-cron \(nested query\)/);
  assert.equal(lines().length > 0, true);
});

test('recipients: unsupported queries are recorded like bad ones; a contact without address still subscribes', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const { tdb, sink, ctx, lines } = await run1(t);
  await tdb.execute("UPDATE priv_action_email SET `to` = 'SELECT Person WHERE name = CONCAT(\\'No\\', \\'tif\\')' WHERE id = 5");
  await activateThresholdTriggers(ctx(), HIT);
  assert.equal(sink.messages.length, 0);
  assert.deepEqual(await tdb.query('SELECT e.`to`, v.message FROM priv_event_email e JOIN priv_event v ON v.id = e.id'), [{
    to: "OQL not supported by itop-cron (function CONCAT()) in 'SELECT Person WHERE name = CONCAT('No', 'tif')'",
    message: 'Error: The input is not a valid email address. Use the basic format local-part@hostname',
  }]);
  assert.ok(lines().some((l) => l['oql'] === "SELECT Person WHERE name = CONCAT('No', 'tif')" && l['level'] === 50));

  await tdb.execute("UPDATE contact SET email = '' WHERE id = 3");
  await tdb.execute("UPDATE priv_action_email SET `to` = 'SELECT Person WHERE id = :this->caller_id' WHERE id = 5");
  await activateThresholdTriggers(ctx(), HIT);
  assert.equal(await message(tdb, 2), 'No recipient');
  assert.deepEqual(await tdb.query('SELECT action_id, contact_id, trigger_id, subscribed FROM priv_lnk_action_notif_to_contact'), [
    { action_id: 5, contact_id: 3, trigger_id: 4, subscribed: 1 },
  ]);
});

test('log_notification off: no event rows; an async mail is queued with event_id 0', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const { tdb, sink, ctx } = await run1(t, {}, { log_notification: false, email_asynchronous: true });
  await activateThresholdTriggers(ctx(), HIT);
  assert.equal(sink.messages.length, 0);
  assert.equal((await tdb.query('SELECT id FROM priv_event')).length, 0);
  assert.deepEqual(await tdb.query("SELECT event_id, status FROM priv_async_task WHERE realclass = 'AsyncSendEmail' AND status = 'planned'"), [
    { event_id: 0, status: 'planned' },
  ]);
});
