/**
 * The OQL of trigger filters and recipients: iTop's syntax errors (message, token, column), and the
 * supported subset translated to SQL and run on the run-3 dump (JOIN through lnkContactToTicket,
 * :this-> and :current_contact_id arguments, AND/OR, literals, external fields).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../src/notify/classes.js';
import { changeTracker } from '../src/notify/events.js';
import { OqlError, parseOql } from '../src/notify/oql.js';
import { findRecipients, type RecipientContext } from '../src/notify/recipients.js';
import { NOTIF, replay, setup } from './fixtures/notify/harness.js';

test('syntax errors carry iTop\'s message, token and column', () => {
  const error = (q: string) => {
    try {
      parseOql(q);
    } catch (e) {
      assert.ok(e instanceof OqlError);
      return e.message;
    }
    return 'parsed';
  };
  assert.equal(error('SELEC Person'), "Unexpected token NAME - found 'Person' at 6 in 'SELEC Person'");
  assert.equal(error('SELECT Person WHERE'), "Unexpected token $ - found '0' at 0 in 'SELECT Person WHERE'");
  assert.equal(error('SELECT Person WHERE id = = 3'), "Unexpected token EQ - found '=' at 25 in 'SELECT Person WHERE id = = 3'");
  assert.equal(error('SELECT Person WHERE id # 3'), "Syntax error - found '#' at 23 in 'SELECT Person WHERE id # 3'");
  assert.equal(error("SELECT Person WHERE name = 'O\\'Brien' AND id IN (1, 2) OR email LIKE '%@x.org'"), 'parsed');
  assert.equal(error('SELECT p FROM Person AS p JOIN lnkContactToTicket AS l ON l.contact_id = p.id WHERE l.ticket_id = :this->id'), 'parsed');
  assert.equal(error('SELECT UserRequest WHERE start_date > DATE_SUB(NOW(), INTERVAL 1 DAY)'), 'parsed');
  assert.equal(error('SELECT Person UNION SELECT Team'), 'parsed');
  const q = parseOql('SELECT Person AS p WHERE p.org_id = 1 AND (name = "x" OR first_name != \'y\')');
  assert.equal(q.kind, 'query');
  if (q.kind === 'query') {
    assert.deepEqual(q.selected, ['p']);
    assert.equal(q.where?.kind, 'binary');
    assert.equal(q.where?.kind === 'binary' && q.where.op, 'LOG_AND', 'AND binds tighter than OR inside the parentheses');
  }
});

test('recipient queries of the supported subset, on the run-3 dump', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const tdb = await replay(t, 'before-notification-run3.sql');
  const { db, lines, log } = setup(t, tdb, {}, '2026-11-24 00:43:52');
  const args: Record<string, string | number> = { 'this->caller_id': 3, 'this->id': 5, current_contact_id: 1, 'this->org_id': 1 };
  const ctx: RecipientContext = {
    db, log, triggerId: 4, actionId: 6, honourNotify: false, params: (n) => args[n],
    change: changeTracker(db, 1, () => '2026-11-24 00:43:52'),
  };
  const to = async (oql: string) => findRecipients(ctx, 'to', oql);
  assert.deepEqual(await to('SELECT Person WHERE id = :this->caller_id'), { value: 'caller.notif@example.com', count: 1 });
  assert.deepEqual(await to('SELECT Person WHERE id = :current_contact_id'), { value: 'my.email@foo.org', count: 1 });
  assert.deepEqual(await to("SELECT Contact WHERE email = 'caller.notif@example.com'"), { value: 'caller.notif@example.com', count: 1 });
  // Person #2 (user1) is unsubscribed from (trigger 4, action 6): left out.
  assert.deepEqual(await to("SELECT Person WHERE email = 'user1@example.com'"), { value: '', count: 0 });
  assert.deepEqual(await to('SELECT Person WHERE org_id = :this->org_id'), {
    value: 'caller.notif@example.com, my.email@foo.org', count: 2,
  }, 'by friendly name: Caller Notif, My first name My last name');
  assert.deepEqual(
    await to("SELECT Person WHERE (first_name = 'Caller' OR name = 'My last name') AND org_name = 'My Company/Department'"),
    { value: 'caller.notif@example.com, my.email@foo.org', count: 2 },
  );
  const join = 'SELECT Person AS p JOIN lnkContactToTicket AS l ON l.contact_id = p.id WHERE l.ticket_id = :this->id';
  assert.deepEqual(await findRecipients({ ...ctx, actionId: 5 }, 'to', join), { value: 'user1@example.com', count: 1 });
  assert.deepEqual(
    await findRecipients({ ...ctx, actionId: 5 }, 'cc', 'SELECT p FROM Person AS p JOIN lnkContactToTicket AS l ON l.contact_id = p.id WHERE l.ticket_id = 5'),
    { value: 'user1@example.com', count: 1 },
  );
  assert.deepEqual(await to('SELECT Organization'), {
    value: "The objects of the class 'Organization' do not have any email attribute", count: 0,
    error: "wrong target for recipient 'to'",
  });
  assert.deepEqual(await to('SELECT Printer'), {
    value: "Unknown class 'Printer' (not in itop-cron's data model) - found 'Printer' at 7 in 'SELECT Printer'", count: 0,
    error: "query syntax error for recipient 'to'",
  });
  assert.deepEqual(await to('SELECT Person WHERE shoe_size = 3'), {
    value: "Unknown attribute 'shoe_size' of class 'Person' - found 'shoe_size' at 20 in 'SELECT Person WHERE shoe_size = 3'",
    count: 0, error: "query syntax error for recipient 'to'",
  });
  assert.deepEqual(await to('SELECT Person WHERE id = :this->nothing'), {
    value: "Missing query argument - found ':this->nothing' at 0 in 'SELECT Person WHERE id = :this->nothing'",
    count: 0, error: "query syntax error for recipient 'to'",
  });
  assert.equal(lines().filter((l) => l['level'] === 50).length, 4, 'each failing query is logged');
  // `notify = 'no'` contacts are skipped only when the action does not ignore the flag.
  await tdb.execute("UPDATE contact SET notify = 'no' WHERE id = 3");
  assert.equal((await to('SELECT Person WHERE id = 3')).count, 1);
  assert.equal((await findRecipients({ ...ctx, honourNotify: true }, 'to', 'SELECT Person WHERE id = 3')).count, 0);
  // Every Contact fetched got its subscription link (for trigger 4 / action 6 or 5).
  const links = await tdb.query('SELECT action_id, contact_id FROM priv_lnk_action_notif_to_contact WHERE id > 2 ORDER BY id');
  assert.deepEqual(links.map((l) => Object.values(l)), [[6, 3], [6, 1], [5, 2]]);
});
