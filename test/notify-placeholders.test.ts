/**
 * Placeholders on the run-3 ticket R-000005, and iTop's quirks: values are
 * inserted raw, unknown placeholders stay, a null key gives `undefined`, the pairs are applied one after
 * the other (a value can be re-substituted by a later pair found in the template), `%24` forms work in
 * URLs, `$app_root_url$` is not a placeholder.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../src/notify/classes.js';
import { createObjectStore } from '../src/notify/objectArgs.js';
import { applyParams, type TemplateParam } from '../src/notify/placeholders.js';
import type { RenderEnv } from '../src/notify/templates.js';
import { NOTIF, replay, setup } from './fixtures/notify/harness.js';

test('placeholders of the catalog and iTop\'s quirks, on R-000005', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const tdb = await replay(t, 'before-notification-run3.sql');
  const { db, clock } = setup(t, tdb, {}, '2026-11-24 00:43:52');
  const store = createObjectStore(db);
  const env: RenderEnv = { store, appUrl: 'http://localhost/itop/', clock, maxLinksetOutput: 100 };
  const params: TemplateParam[] = [
    { name: 'this', object: await store.load('Ticket', 5) },
    { name: 'trigger', object: await store.load('Trigger', 4) },
    { name: 'action', object: await store.load('Action', 6) },
    { name: 'current_contact_id', value: '1' },
    { name: 'current_user', object: await store.load('User', 1) },
    { name: 'current_contact', object: await store.load('Contact', 1) },
    { name: 'APP_URL', value: 'http://localhost/itop/' },
    { name: 'MODULES_URL', value: 'http://localhost/itop/env-production/' },
  ];
  const r = (s: string) => applyParams(env, s, params);
  const cases: Array<[string, string]> = [
    ['$this->ref$ / $this->id$ / $this->name()$ / $this->friendlyname$', 'R-000005 / 5 / R-000005 / R-000005'],
    ['$this->title$', 'Catalog test <b>bold</b> & "quotes"'],
    ['$this->html(title)$', 'Catalog test &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quotes&quot;'],
    ['$this->status$ $this->label(status)$ $this->text(status)$', 'new New New'],
    ['$this-&gt;priority$ / $this-&gt;label(priority)$ / $this->label(impact)$', '4 / Low / A person'],
    ['$this->start_date$ $this->raw(start_date)$', '2026-11-24 00:43:04 2026-11-24 00:43:04'],
    ['$this->text(description)$', 'Description with bold & a [link](https://example.com/doc)'],
    ['$this->caller_id$ $this->label(caller_id)$ $this->caller_id_friendlyname$ $this->caller_name$', '3 3 Caller Notif Notif'],
    ['$this->caller_id->email$ | $this->caller_id-&gt;org_id-&gt;name$', 'caller.notif@example.com | My Company/Department'],
    ['$this->agent_id->email$', 'undefined'],
    ['$this->org_id_friendlyname$ / $this->org_name$ / $this->service_id->name$', 'My Company/Department / My Company/Department / Test Service'],
    ['$this->url()$', 'http://localhost/itop/pages/UI.php?operation=details&class=UserRequest&id=5'],
    ['$this->url(portal)$', 'http://localhost/itop/pages/exec.php/object/edit/UserRequest/5?exec_module=itop-portal-base&exec_page=index.php&exec_env=production&portal_id=itop-portal'],
    ['$this->head(public_log)$ | $this->head_html(public_log)$', 'Second public entry | <p>Second <i>public</i> entry</p>'],
    ['$this->public_log$', '\n========== 2026-11-24 00:43:04 : My first name My last name (1) ============\n\nFirst public entry\n========== 2026-11-24 00:43:04 : My first name My last name (1) ============\n\nSecond public entry'],
    ['$this->contacts_list$ $this->html(contacts_list)$', 'User One <ul><li>User One</li></ul>'],
    ['$this->tto$ $this->tto_escalation_deadline$ [$this->sla_tto_passed$]', '0 1795477444 []'],
    ['$this->nonexistent_att$ $this-&gt;foo(title)$ $this->url(nowhere)$ $this->title->x$', '$this->nonexistent_att$ $this-&gt;foo(title)$ $this->url(nowhere)$ $this->title->x$'],
    ['$current_contact->friendlyname$ $current_contact->email$ $current_user->login$ $current_contact_id$', 'My first name My last name my.email@foo.org admin 1'],
    ['$APP_URL$ $MODULES_URL$ $app_root_url$', 'http://localhost/itop/ http://localhost/itop/env-production/ $app_root_url$'],
    ['$trigger->description$ / $trigger->id$ / $action->name$ / $action->status$', 'UserRequest TTO 75% reached / 4 / Catalog (placeholders) / enabled'],
    ['<a href="%24APP_URL%24pages/UI.php?id=%24this-&gt;id%24">', '<a href="http://localhost/itop/pages/UI.php?id=5">'],
  ];
  for (const [template, expected] of cases) assert.equal(await r(template), expected, template);
  assert.match(await r('$this->hyperlink()$'), /^<span class="object-ref " data-tooltip-content="http:\/\/localhost\/itop\/pages\/UI\.php\?route=object\.summary&amp;obj_class=UserRequest&amp;obj_key=5" .* title="User Request::5"><a class="object-ref-link" href="http:\/\/localhost\/itop\/pages\/UI\.php\?operation=details&amp;class=UserRequest&amp;id=5">R-000005<\/a><\/span>$/);
  assert.match(await r('$this->html(caller_id)$'), /href="[^"]*&amp;id=3&amp;">Caller Notif<\/a>/, 'attribute rendering carries the navigation context');
  assert.match(await r('$this->html(status)$'), /^<div id="ibo-field-badge-[0-9a-f]{13}\d{9}" class="ibo-field-badge ibo-content-block ibo-block ibo-dm-enum--UserRequest-status-new ibo-field-badge "><span class="ibo-field-badge--label">New<\/span><\/div>$/);

  // Sequential replacement: a value holding a placeholder is replaced again by a later pair, but only
  // when that placeholder is in the template itself.
  await tdb.execute("UPDATE ticket SET title = 'see $this->ref$ and $this->id$' WHERE id = 5");
  store.clear();
  params[0] = { name: 'this', object: await store.load('Ticket', 5) };
  assert.equal(await r('$this->title$ | $this->ref$'), 'see R-000005 and $this->id$ | R-000005');
});
