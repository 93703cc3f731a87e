/**
 * The web console of `itop-cron serve` (src/http/console/), with real HTTP against the built CLI's serve on
 * a real MariaDB: the page and its data, escaping, security headers, the actions, and every refusal with
 * nothing written.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { basicAuthHeader } from '../src/http/basicAuth.js';
import { sseEvent } from '../src/http/console/live.js';
import { addRuns, addTask, startServe, type Serve } from './helpers/consoleServe.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const PWD = 'C0nsole.Secret-pw';
const ADMIN = basicAuthHeader('admin', PWD);
const EVIL = '<script>alert(1)</script>';

async function rowOf(db: TestDb, cls: string): Promise<{ status: string; next_run_date: string; total_exec_count: number }> {
  const rows = await db.query<{ status: string; next_run_date: string; total_exec_count: number }>(
    `SELECT status, next_run_date, total_exec_count FROM ${db.table('priv_backgroundtask')} WHERE class_name = ?`,
    [cls],
  );
  assert.ok(rows[0], `no row for ${cls}`);
  return rows[0];
}

/** The whole registry and async queue, to compare "nothing written". */
async function snapshot(db: TestDb): Promise<string> {
  const tasks = await db.query(`SELECT * FROM ${db.table('priv_backgroundtask')} ORDER BY id`);
  const async = await db.query(`SELECT * FROM ${db.table('priv_async_task')} ORDER BY id`);
  return JSON.stringify({ tasks, async });
}

async function setup(t: TestContext, env: Record<string, string> = {}): Promise<{ db: TestDb; serve: Serve }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  await createAdminUser(db, { login: 'user1', password: PWD, admin: false });
  await addTask(db, 'InlineImageGC', '2099-01-01 00:00:00', { runs: 30, avg: 0.5, latest: 9 });
  await addTask(db, EVIL, '2099-01-01 00:00:00');
  await addRuns(db, 'InlineImageGC', 120, (i) => `run ${i} <b>bold</b>`, (i) => (i === 119 ? 9 : 0.5));
  await addRuns(db, EVIL, 1, () => `<img src=x onerror=alert(2)>`);
  await db.execute(
    `INSERT INTO ${db.table('priv_async_task')} (status, created, remaining_retries, last_error, last_attempt, realclass) ` +
      "VALUES ('error', '2026-01-01 00:00:00', 0, 'SMTP said <no>', '2026-01-01 00:01:00', 'AsyncSendEmail')",
  );
  return { db, serve: await startServe(t, db, env) };
}

function get(s: Serve, path: string, auth: string | null = ADMIN): Promise<Response> {
  return fetch(`${s.url}${path}`, { headers: auth === null ? {} : { Authorization: auth } });
}

/** The CSRF token of the admin's page. */
async function tokenOf(s: Serve): Promise<string> {
  const html = await (await get(s, '/')).text();
  const m = /name="token" value="([^"]+)"/.exec(html);
  assert.ok(m?.[1], 'the page carries a token');
  return m[1];
}

function post(s: Serve, form: Record<string, string>, opts: { auth?: string | null; origin?: string | null } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const auth = opts.auth === undefined ? ADMIN : opts.auth;
  if (auth !== null) headers['Authorization'] = auth;
  const origin = opts.origin === undefined ? s.url : opts.origin;
  if (origin !== null) headers['Origin'] = origin;
  return fetch(`${s.url}/action`, { method: 'POST', headers, body: new URLSearchParams(form).toString(), redirect: 'manual' });
}

test('GET / shows health, lock, queues and every task, with values from the database escaped', async (t) => {
  const { serve } = await setup(t);
  const res = await get(serve, '/');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  // Not no-referrer: with it, browsers send `Origin: null` on the page's own posts (see headers.ts).
  assert.equal(res.headers.get('referrer-policy'), 'same-origin');
  const html = await res.text();
  // No inline script at all: the only script element loads /console.js.
  assert.deepEqual(html.match(/<script[^>]*>/g), ['<script src="/console.js" defer>']);
  assert.doesNotMatch(html, /<[^>]*\son\w+=/i, 'no inline event handler');
  assert.ok(!html.includes(EVIL), 'the class name is not HTML');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes(`href="/task/${encodeURIComponent(EVIL).replaceAll("'", '&#39;')}"`));
  assert.ok(!html.includes('<img src=x'), 'the message is not HTML');
  assert.ok(html.includes('&lt;img src=x onerror=alert(2)&gt;'));
  assert.match(html, /id="verdict">(Healthy|Unhealthy)</);
  assert.match(html, /No cron holds the lock/);
  assert.match(html, /<tr class="task status-active" data-class="InlineImageGC">/);
  const row = /<tr class="task status-active" data-class="InlineImageGC">.*?<\/tr>/s.exec(html)?.[0] ?? '';
  assert.match(row, /<td>native<\/td>/);
  assert.match(row, /run 119 &lt;b&gt;bold&lt;\/b&gt;/);
  assert.match(row, /0\.500 s/);
  assert.match(row, /9\.000 s <span class="slow"/, 'the latest run is marked much slower than the average');
  assert.equal((row.match(/M\d+ 24v-\d+h\d+v\d+z/g) ?? []).length, 20, 'the chart shows the last 20 runs, one bar each');
  assert.match(row, /<path class="ko" d="(M\d+ 24v-\d+h\d+v\d+z){3}"\/>/, 'the 3 failures among them (runs 101, 108, 115) in red');
  assert.match(row, /<path class="ok" d="[^"]*M114 24v-24h5v24z"/, 'the latest, slowest run is the full-height bar on the right');
  for (const b of ['Pause', 'Run now', 'Reschedule']) assert.ok(row.includes(`>${b}</button>`), b);
  assert.match(html, /Async tasks in error: <b id="q-error">1<\/b>/);
  assert.ok(html.includes('SMTP said &lt;no&gt;'));
  assert.match(html, /value="retry" data-confirm="Retry async task #1\?">Retry<\/button>/);
  const js = await fetch(`${serve.url}/console.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.match(await js.text(), /confirm/);
  assert.equal((await fetch(`${serve.url}/console.css`)).status, 200);
});

test('no login 401, wrong password 401, a non-administrator 403: for the page, a task page and an action', async (t) => {
  const { db, serve } = await setup(t);
  const before = await snapshot(db);
  const token = await tokenOf(serve);
  for (const path of ['/', '/task/InlineImageGC']) {
    const none = await get(serve, path, null);
    assert.equal(none.status, 401, path);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /);
    assert.equal((await get(serve, path, basicAuthHeader('admin', 'wrong'))).status, 401);
    const user = await get(serve, path, basicAuthHeader('user1', PWD));
    assert.equal(user.status, 403);
    assert.doesNotMatch(await user.text(), /InlineImageGC/);
  }
  const form = { token, action: 'pause', task: 'InlineImageGC' };
  assert.equal((await post(serve, form, { auth: null })).status, 401);
  assert.equal((await post(serve, form, { auth: basicAuthHeader('user1', PWD) })).status, 403);
  assert.equal((await post(serve, form, { auth: basicAuthHeader('admin', 'wrong') })).status, 401);
  assert.equal(await snapshot(db), before, 'nothing written');
});

test('failed logins on the console count in the cron page\'s rate limit: 429 after 5 in a minute', async (t) => {
  const { serve } = await setup(t);
  for (let i = 0; i < 5; i += 1) assert.equal((await get(serve, i % 2 === 0 ? '/' : '/cron', basicAuthHeader('admin', `guess${i}`))).status, 401);
  const refused = await get(serve, '/');
  assert.equal(refused.status, 429);
  assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
  assert.equal((await get(serve, '/task/InlineImageGC')).status, 429);
});

test('an action from another origin, without Origin, or without the right CSRF token is refused (403) and writes nothing', async (t) => {
  const { db, serve } = await setup(t);
  const token = await tokenOf(serve);
  const before = await snapshot(db);
  const cases: [Record<string, string>, string | null, RegExp][] = [
    [{ token, action: 'pause', task: 'InlineImageGC' }, 'http://evil.example', /Origin/],
    [{ token, action: 'pause', task: 'InlineImageGC' }, null, /Origin/],
    [{ action: 'pause', task: 'InlineImageGC' }, serve.url, /CSRF token/],
    [{ token: `${token.slice(0, -1)}x`, action: 'pause', task: 'InlineImageGC' }, serve.url, /CSRF token/],
    [{ token: '', action: 'retry', id: '1' }, serve.url, /CSRF token/],
  ];
  for (const [form, origin, why] of cases) {
    const res = await post(serve, form, { origin });
    assert.equal(res.status, 403, JSON.stringify({ form, origin }));
    assert.match(await res.text(), why);
  }
  assert.equal(await snapshot(db), before, 'nothing written');
  assert.match(serve.output(), /console: action refused, not from this origin/);
  // GET on /action is not an action.
  assert.equal((await get(serve, `/action?token=${token}&action=pause&task=InlineImageGC`)).status, 405);
  assert.equal(await snapshot(db), before);
});

test('Pause, Resume, Reschedule, Run now and Retry write the rows, logged with the login', async (t) => {
  const { db, serve } = await setup(t);
  const token = await tokenOf(serve);
  const paused = await post(serve, { token, action: 'pause', task: 'InlineImageGC' });
  assert.equal(paused.status, 200);
  assert.match(await paused.text(), /Paused InlineImageGC/);
  assert.equal((await rowOf(db, 'InlineImageGC')).status, 'paused');
  assert.match(serve.output(), /"user":"admin".*"action":"pause".*"task":"InlineImageGC".*console: action/);
  const page = await (await get(serve, '/')).text();
  assert.match(page, /<tr class="task status-paused" data-class="InlineImageGC">.*?value="resume"[^>]*>Resume<\/button>/s);

  assert.equal((await post(serve, { token, action: 'resume', task: 'InlineImageGC' })).status, 200);
  assert.equal((await rowOf(db, 'InlineImageGC')).status, 'active');

  const resched = await post(serve, { token, action: 'reschedule', task: 'InlineImageGC', when: '2030-05-01 10:00:00' });
  assert.equal(resched.status, 200);
  assert.equal((await rowOf(db, 'InlineImageGC')).next_run_date, '2030-05-01 10:00:00');
  const badDate = await post(serve, { token, action: 'reschedule', task: 'InlineImageGC', when: 'tomorrow<b>' });
  assert.equal(badDate.status, 400);
  const badText = await badDate.text();
  assert.match(badText, /Invalid date &#39;tomorrow&lt;b&gt;&#39;/);
  assert.equal((await rowOf(db, 'InlineImageGC')).next_run_date, '2030-05-01 10:00:00');
  assert.equal((await post(serve, { token, action: 'pause', task: 'NoSuchTask' })).status, 404);

  const before = (await rowOf(db, 'InlineImageGC')).total_exec_count;
  const ran = await post(serve, { token, action: 'run', task: 'InlineImageGC' });
  const ranText = await ran.text();
  assert.equal(ran.status, 200, ranText);
  assert.match(ranText, /InlineImageGC: success in \d+\.\d{3} s/);
  assert.match(ranText, /<pre class="output">.*Starting: InlineImageGC/s);
  assert.equal(Number((await rowOf(db, 'InlineImageGC')).total_exec_count), Number(before) + 1);

  const retry = await post(serve, { token, action: 'retry', id: '1' });
  assert.equal(retry.status, 200);
  const task = await db.query<{ status: string }>(`SELECT status FROM ${db.table('priv_async_task')} WHERE id = 1`);
  assert.equal(task[0]?.status, 'planned');
  assert.equal((await post(serve, { token, action: 'retry', id: '1' })).status, 404, 'no longer in error');
});

test('a task page shows its run history, 50 runs a page, newest first, escaped', async (t) => {
  const { serve } = await setup(t);
  const first = await get(serve, '/task/InlineImageGC');
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('x-frame-options'), 'DENY');
  const html = await first.text();
  assert.match(html, /120 runs recorded/);
  assert.equal((html.match(/<tr><td>\d{4}-/g) ?? []).length, 50);
  assert.match(html, /run 119 &lt;b&gt;bold&lt;\/b&gt;/);
  assert.doesNotMatch(html, /run 69 /);
  assert.match(html, /page 1 of 3/);
  assert.match(html, /<td>web01<\/td>/);
  assert.match(html, /<td class="outcome failure">failure<\/td>/);
  const third = await (await get(serve, '/task/InlineImageGC?page=3')).text();
  assert.equal((third.match(/<tr><td>\d{4}-/g) ?? []).length, 20);
  assert.match(third, /run 0 &lt;b&gt;/);
  assert.match(third, /rel="prev" href="\/task\/InlineImageGC\?page=2"/);
  const evil = await get(serve, `/task/${encodeURIComponent(EVIL)}`);
  assert.equal(evil.status, 200);
  const evilHtml = await evil.text();
  assert.ok(!evilHtml.includes(EVIL) && !evilHtml.includes('<img src=x'));
  assert.ok(evilHtml.includes('<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>'));
  assert.equal((await get(serve, '/task/NoSuchTask')).status, 404);
  assert.equal((await get(serve, '/task/%E0%A4%A')).status, 400);
});

/** Reads an event stream until `pattern` has arrived. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  const limit = Date.now() + 20_000;
  while (!pattern.test(text)) {
    if (Date.now() > limit) throw new Error(`no ${pattern} in: ${text}`);
    const { done, value } = await reader.read();
    if (done) throw new Error(`the stream ended before ${pattern}: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

test('/events streams the text of the server\'s runs live (Run now and the cron page), behind the login', async (t) => {
  // A cron page run lasts cron_max_execution_time: 3 s here.
  const { serve } = await setup(t, { ITOP_CRON_MAX_EXECUTION_TIME: '3' });
  assert.equal((await get(serve, '/events', null)).status, 401);
  assert.equal((await get(serve, '/events', basicAuthHeader('user1', PWD))).status, 403);
  const controller = new AbortController();
  t.after(() => controller.abort());
  const res = await fetch(`${serve.url}/events`, { headers: { Authorization: ADMIN }, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  const reader = res.body!.getReader();
  await readUntil(reader, /^: itop-cron live output\n\n/);
  const token = await tokenOf(serve);
  assert.equal((await post(serve, { token, action: 'run', task: 'InlineImageGC' })).status, 200);
  const seen = await readUntil(reader, /data: << === .* End of: +InlineImageGC /);
  assert.match(seen, /(^|\n)data: >> === .* Starting: InlineImageGC /);
  const cron = await get(serve, '/cron?verbose=1');
  assert.equal(cron.status, 200);
  await cron.text();
  assert.match(await readUntil(reader, /data: Exiting: \d+/), /data: Starting: \d+ \(/);
  // A browser that connects later gets the recent lines (up to 200) first.
  const late = await fetch(`${serve.url}/events`, { headers: { Authorization: ADMIN }, signal: controller.signal });
  assert.match(await readUntil(late.body!.getReader(), /data: Exiting: \d+/), /data: Starting: \d+ \(/);
  // Stopping the server ends the open streams instead of waiting for the browsers to leave.
  const stoppedAt = Date.now();
  serve.child.kill('SIGTERM');
  for (;;) if ((await reader.read()).done) break;
  assert.ok(Date.now() - stoppedAt < 5000, `the stream ended ${Date.now() - stoppedAt} ms after SIGTERM`);
  await new Promise((resolve) => (serve.child.exitCode === null ? serve.child.once('close', resolve) : resolve(undefined)));
  assert.equal(serve.child.exitCode, 0);
});

test('an event carries each line of a text in a data field of its own, so no text can start another event', () => {
  assert.equal(sseEvent('one line'), 'data: one line\n\n');
  assert.equal(sseEvent('a\n\nevent: busy\r\ndata: x\rid: 1'), 'data: a\ndata: \ndata: event: busy\ndata: data: x\ndata: id: 1\n\n');
});
