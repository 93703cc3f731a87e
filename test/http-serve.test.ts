/**
 * Web mode (`itop-cron serve`): the cron page driven with real HTTP clients against a real server and a
 * real MariaDB. A "gate" task blocks inside the run until the test opens it, so that "during the run" is
 * a state the test controls, not a timing.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { isLoopbackHost, serveSettings } from '../src/cli/serveCommand.js';
import { loadConfig } from '../src/config/load.js';
import { openDb } from '../src/db/connect.js';
import { lockName } from '../src/db/lock.js';
import { basicAuthHeader, parseBasicAuth } from '../src/http/basicAuth.js';
import { readCronQuery } from '../src/http/cronPage.js';
import { FailureLimiter } from '../src/http/rateLimit.js';
import { startServer, type CronServer, type ServerOptions } from '../src/http/server.js';
import { silentLogger } from '../src/output/logger.js';
import type { BackgroundTask } from '../src/tasks/types.js';
import { cliEnv, makeItopRoot, runCli } from './helpers/cli.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'Web.Cr0n-Secret';
const ADMIN = basicAuthHeader('admin', PWD);
/** Generous bound for "this never arrives": a failing test ends instead of hanging. */
const NEVER_MS = 20_000;

interface Gate {
  readonly task: BackgroundTask;
  /** Resolves when the task is inside process(). */
  readonly started: Promise<void>;
  /** Lets process() return. */
  open(): void;
  /** Resolves with true when process() saw its AbortSignal fire. */
  readonly aborted: Promise<boolean>;
}

function gateTask(): Gate {
  let onStart!: () => void;
  let onOpen!: () => void;
  let onAbort!: (v: boolean) => void;
  const started = new Promise<void>((r) => (onStart = r));
  const opened = new Promise<void>((r) => (onOpen = r));
  const aborted = new Promise<boolean>((r) => (onAbort = r));
  const task: BackgroundTask = {
    className: 'TestWebGate',
    periodicity: () => 1,
    async process(ctx) {
      onStart();
      const stop = new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
      await Promise.race([opened, stop]);
      onAbort(ctx.signal.aborted);
      return 'gate passed';
    },
  };
  return { task, started, open: () => onOpen(), aborted };
}

async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${NEVER_MS} ms`)), NEVER_MS);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

interface Setup {
  readonly db: TestDb;
  readonly server: CronServer;
  readonly gate: Gate;
}

async function setup(t: TestContext, extra: Partial<ServerOptions> = {}): Promise<Setup> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  await createAdminUser(db, { login: 'user1', password: PWD, admin: false });
  const config = loadConfig({
    raw: {},
    env: { ...db.env, ITOP_CRON_MAX_EXECUTION_TIME: '2', ITOP_CRON_SLEEP: '1', ITOP_TIMEZONE: 'Europe/Paris' },
    cwd: tempDir('itop-cron-web-'),
  });
  const pool = openDb(config.db);
  const gate = gateTask();
  const server = await startServer({
    config, db: pool, log: silentLogger(), port: 0, tasks: [gate.task], loginFailureDelayMs: 0, ...extra,
  });
  t.after(async () => {
    gate.open();
    await server.stop(0);
    await pool.close();
  });
  return { db, server, gate };
}

/** GET with an Authorization header (the administrator's by default; null sends none). */
function get(server: CronServer, path: string, auth: string | null = ADMIN, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = auth === null ? {} : { Authorization: auth };
  return fetch(`${server.url}${path}`, { headers, signal: signal ?? null });
}

/** Reads the body until `pattern` has arrived; returns the text so far (the stream stays open). */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp, seen = ''): Promise<string> {
  const decoder = new TextDecoder();
  let text = seen;
  while (!pattern.test(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the response ended before ${pattern}: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>, seen: string): Promise<string> {
  const decoder = new TextDecoder();
  let text = seen;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}

async function lockIsFree(db: TestDb): Promise<boolean> {
  const rows = await db.query<{ f: number }>('SELECT IS_FREE_LOCK(?) AS f', [lockName('cron', db.name, db.prefix)]);
  return Number(rows[0]?.f) === 1;
}

async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  await within(
    (async () => {
      while (!(await check())) await new Promise((r) => setTimeout(r, 50));
    })(),
    what,
  );
}

test('a run streams its text as it happens: Starting: arrives while the run is still inside a task', async (t) => {
  const { server, gate } = await setup(t);
  const res = await get(server, '/webservices/cron.php?verbose=1');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(res.headers.get('transfer-encoding'), 'chunked');
  const reader = res.body!.getReader();
  // The gate is closed: if the page buffered its text, nothing would arrive and this would time out.
  const first = await within(readUntil(reader, />> === .* Starting: TestWebGate /), 'streamed lines');
  assert.match(first, /^Starting: \d+ \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\n/);
  assert.match(first, /\nPlanned duration = 2 seconds\n/);
  await within(gate.started, 'the task to start');
  gate.open();
  const all = await within(readRest(reader, first), 'the end of the run');
  assert.match(all, /\nTestWebGate: gate passed\n/);
  assert.match(all, /\nExiting: \d+ \(.+\)\n$/);
  assert.equal(await gate.aborted, false);
});

test('the exit code comes as a trailer; /cron is the same page', async (t) => {
  const { server, gate } = await setup(t);
  gate.open();
  const { status, body, trailers } = await new Promise<{ status: number; body: string; trailers: NodeJS.Dict<string> }>(
    (resolve, reject) => {
      const req = request(`${server.url}/cron`, { headers: { Authorization: ADMIN } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, trailers: res.trailers }));
      });
      req.on('error', reject);
      req.end();
    },
  );
  assert.equal(status, 200);
  assert.match(body, /^Starting: .*\nExiting: .*\n$/);
  assert.equal(trailers['x-itop-cron-exit-code'], '0');
});

test('a second request during a run gets Already running... with 200, as a second cron.php would', async (t) => {
  const { server, gate } = await setup(t);
  const first = await get(server, '/webservices/cron.php');
  const reader = first.body!.getReader();
  await within(gate.started, 'the first run to enter its task');
  const second = await get(server, '/webservices/cron.php');
  assert.equal(second.status, 200);
  assert.match(await second.text(), /^Starting: \d+ \(.+\)\nAlready running\.\.\.\nExiting: \d+ \(.+\)\n$/);
  gate.open();
  assert.match(await readRest(reader, ''), /\nExiting: /);
});

test('status_only=1 prints the status table and takes no lock', async (t) => {
  const { server } = await setup(t);
  const res = await get(server, '/webservices/cron.php?status_only=1');
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /^\+-{27}\+/);
  assert.match(text, /\| Task Class {16}\| Status {2}\| Last Run {12}\| Next Run {12}\| Nb Run \| Avg\. Dur\. \|/);
  assert.doesNotMatch(text, /Starting:/);
});

test('status_only=1&format=json gives the status as data; a run is recorded in the history like a command-line run', async (t) => {
  const { db, server, gate } = await setup(t);
  gate.open();
  const run = await get(server, '/webservices/cron.php');
  assert.equal(run.status, 200);
  assert.match(await run.text(), /Exiting: \d+/);
  const res = await get(server, '/webservices/cron.php?status_only=1&format=json');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const report = (await res.json()) as { tasks: { className: string }[] };
  const names = report.tasks.map((x) => x.className);
  assert.ok(names.includes('TestWebGate'), JSON.stringify(report));
  const history = await db.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${db.table('itop_cron_run_history')} WHERE class_name = 'TestWebGate'`,
  );
  assert.ok(Number(history[0]?.n) >= 1);
});

test('wrong credentials: 401 with a Basic challenge; no credentials: 401; a non-administrator: 403', async (t) => {
  const { server } = await setup(t);
  for (const auth of [basicAuthHeader('admin', 'wrong'), basicAuthHeader('nobody', PWD), null, 'Bearer xyz']) {
    const res = await get(server, '/webservices/cron.php', auth);
    assert.equal(res.status, 401, String(auth));
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="itop-cron", charset="UTF-8"');
    assert.ok(!(await res.text()).includes(PWD));
  }
  const bad = await get(server, '/webservices/cron.php', basicAuthHeader('admin', 'wrong'));
  assert.equal(await bad.text(), "Access wrong credentials ('admin')\n");
  const user = await get(server, '/webservices/cron.php', basicAuthHeader('user1', PWD));
  assert.equal(user.status, 403);
  assert.equal(await user.text(), 'Access restricted to administrators\n');
});

test('repeated failed logins from one address: 429, even with the right password; other addresses still get in', async (t) => {
  const { server, gate } = await setup(t, { rateLimit: { max: 3, windowMs: 60_000 } });
  gate.open();
  for (let i = 0; i < 3; i += 1) {
    assert.equal((await get(server, '/cron', basicAuthHeader('admin', `guess${i}`))).status, 401);
  }
  const refused = await get(server, '/cron?status_only=1');
  assert.equal(refused.status, 429);
  assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
  // Another client (127.0.0.2 is loopback too on Linux) is not locked out.
  const other = await new Promise<number>((resolve, reject) => {
    const req = request(`${server.url}/cron?status_only=1`, { headers: { Authorization: ADMIN }, localAddress: '127.0.0.2' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(other, 200);
});

test('successful logins and administrators refused for their profile do not count as failures', async () => {
  let now = 0;
  const limiter = new FailureLimiter({ max: 2, windowMs: 1000, now: () => now });
  for (let i = 0; i < 5; i += 1) {
    const ticket = await limiter.begin('a');
    assert.ok(ticket !== undefined);
    if (i % 2 === 0) ticket.succeeded();
    else ticket.released(); // right password, not an administrator
  }
  (await limiter.begin('a'))!.failed();
  (await limiter.begin('a'))!.failed();
  assert.equal(await limiter.begin('a'), undefined);
  assert.equal(limiter.retryAfterSeconds('a'), 1);
  now = 1001;
  assert.ok((await limiter.begin('a')) !== undefined);
});

test('credentials or param_file in the URL are refused with 400, without echoing them', async (t) => {
  const { server } = await setup(t);
  for (const q of [`auth_user=admin&auth_pwd=${PWD}`, `auth_pwd=${PWD}`, 'auth_user=admin', 'param_file=/etc/passwd', 'auth_pwd%5B%5D=x']) {
    const res = await get(server, `/webservices/cron.php?${q}`);
    assert.equal(res.status, 400, q);
    const text = await res.text();
    assert.ok(!text.includes(PWD), text);
  }
  assert.deepEqual(readCronQuery(new URLSearchParams('verbose=1&status_only=yes!&debug=0&cachebust=123')), {
    verbose: true, debug: false, statusOnly: false, json: false,
  });
  assert.deepEqual(readCronQuery(new URLSearchParams('verbose=1&verbose=0&status_only=false')), {
    verbose: false, debug: false, statusOnly: true, json: false,
  });
});

test('a maintenance or read-only flag under the iTop root: 503 with cron.php\'s words, before any login', async (t) => {
  const db = await createTestDb(t);
  const root = makeItopRoot(db);
  const config = loadConfig({ raw: { itop_root: root }, env: {}, cwd: root });
  const pool = openDb(config.db);
  const server = await startServer({ config, db: pool, log: silentLogger(), tasks: [], loginFailureDelayMs: 0 });
  t.after(async () => {
    await server.stop(0);
    await pool.close();
  });
  writeFileSync(join(root, 'data', '.maintenance'), '');
  const m = await get(server, '/cron', null);
  assert.equal(m.status, 503);
  assert.equal(await m.text(), 'This application is currently under maintenance.\n');
  rmSync(join(root, 'data', '.maintenance'));
  writeFileSync(join(root, 'data', '.readonly'), '');
  const ro = await get(server, '/cron');
  assert.equal(ro.status, 503);
  assert.equal(await ro.text(), 'iTop is read-only. Exiting...\n');
  rmSync(join(root, 'data', '.readonly'));
  assert.equal((await get(server, '/cron', null)).status, 401);
});

test('other paths are 404, other methods 405', async (t) => {
  const { server } = await setup(t);
  assert.equal((await get(server, '/pages/UI.php')).status, 404);
  const post = await fetch(`${server.url}/cron`, { method: 'POST', headers: { Authorization: ADMIN } });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET');
});

test('Basic header parsing: colons in the password, UTF-8, other schemes', () => {
  assert.deepEqual(parseBasicAuth(basicAuthHeader('admin', 'a:b:c')), { user: 'admin', password: 'a:b:c' });
  assert.deepEqual(parseBasicAuth(basicAuthHeader('élodie', 'mötley')), { user: 'élodie', password: 'mötley' });
  assert.deepEqual(parseBasicAuth(`basic ${Buffer.from('u:p').toString('base64')}`), { user: 'u', password: 'p' });
  assert.equal(parseBasicAuth('Bearer abc'), undefined);
  assert.equal(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
  assert.equal(parseBasicAuth(undefined), undefined);
});

test('a client that hangs up stops its run: the task is aborted and the lock released', async (t) => {
  const { db, server, gate } = await setup(t);
  const controller = new AbortController();
  const res = await get(server, '/webservices/cron.php', ADMIN, controller.signal);
  const reader = res.body!.getReader();
  await within(readUntil(reader, /^Starting:/), 'the first line');
  await within(gate.started, 'the task to start');
  assert.equal(await lockIsFree(db), false);
  controller.abort();
  assert.equal(await within(gate.aborted, 'the task to see the abort'), true);
  await eventually(() => server.running() === 0, 'the execution to end');
  assert.equal(await lockIsFree(db), true);
});

test('stop() lets the running execution end, or stops it when the grace time is 0', async (t) => {
  const { server, gate } = await setup(t);
  const res = await get(server, '/webservices/cron.php');
  const reader = res.body!.getReader();
  await within(gate.started, 'the task to start');
  const stopped = server.stop(60_000);
  // New requests are no longer served while it stops.
  await assert.rejects(fetch(`${server.url}/cron`, { headers: { Authorization: ADMIN } }));
  gate.open();
  await within(stopped, 'stop()');
  assert.equal(await gate.aborted, false);
  assert.match(await readRest(reader, ''), /\nExiting: \d+ \(.+\)\n$/);

  const second = await setup(t);
  const res2 = await get(second.server, '/webservices/cron.php');
  const reader2 = res2.body!.getReader();
  await within(second.gate.started, 'the task to start');
  await within(second.server.stop(0), 'stop(0)');
  assert.equal(await second.gate.aborted, true);
  assert.match(await readRest(reader2, ''), /\nExiting: \d+ \(.+\)\n$/);
});

test('itop-cron serve as a process: listens, answers, and on SIGTERM ends the running pass and exits 0', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  let url: string | undefined;
  let exchange: Promise<{ status: string; run: string }> | undefined;
  const auth = { headers: { Authorization: ADMIN } };
  const r = await runCli(['serve', '--port=0', '--stop_timeout=0'], {
    env: cliEnv(db, { ITOP_CRON_LOG_LEVEL: 'silent', ITOP_CRON_MAX_EXECUTION_TIME: '120', ITOP_CRON_SLEEP: '1' }),
    timeoutMs: NEVER_MS,
    onSpawn: (child: ChildProcess) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\/webservices\/cron\.php\n/.exec(out);
        if (m === null || url !== undefined) return;
        url = m[1];
        exchange = (async () => {
          const status = await (await fetch(`${url}/webservices/cron.php?status_only=1`, auth)).text();
          const res = await fetch(`${url}/webservices/cron.php?verbose=1`, auth);
          const reader = res.body!.getReader();
          // Printed once the lock is held: the pass is running when the signal comes.
          const seen = await readUntil(reader, /Planned duration = 120 seconds\n/);
          child.kill('SIGTERM');
          return { status, run: await readRest(reader, seen) };
        })();
        exchange.catch(() => child.kill('SIGKILL'));
      });
    },
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(url !== undefined, r.stdout);
  const { status, run } = await exchange!;
  assert.match(status, /\| Task Class /);
  assert.match(run, /\nExiting: \d+ \(.+\)\n$/);
  assert.equal(await lockIsFree(db), true);
});

test('serve refuses credentials and bad ports as options', async (t) => {
  const db = await createTestDb(t);
  const bad = await runCli(['serve', `--auth_pwd=${PWD}`], { env: cliEnv(db) });
  assert.equal(bad.code, 254);
  assert.match(bad.stdout, /^Error: '--auth_pwd' is not an option of serve/);
  assert.ok(!bad.stdout.includes(PWD));
  const port = await runCli(['serve', '--port=99999'], { env: cliEnv(db) });
  assert.equal(port.code, 254);
  assert.equal(port.stdout, "Error: Invalid value for 'port': '99999' (expected 0 to 65535)\n");
});

test('port and host: command line or parameter file, then ITOP_CRON_HTTP_PORT/HOST, then 8089 on 127.0.0.1', () => {
  assert.deepEqual(serveSettings({}, {}), { host: '127.0.0.1', port: 8089, stopTimeoutSeconds: 30 });
  assert.deepEqual(serveSettings({}, { ITOP_CRON_HTTP_PORT: '9000', ITOP_CRON_HTTP_HOST: '::1' }), {
    host: '::1', port: 9000, stopTimeoutSeconds: 30,
  });
  assert.equal(serveSettings({ port: '0', stop_timeout: '5' }, { ITOP_CRON_HTTP_PORT: '9000' }).port, 0);
  assert.equal(serveSettings({ stop_timeout: '5' }, {}).stopTimeoutSeconds, 5);
  assert.throws(() => serveSettings({ port: 'http' }, {}), /Invalid value for 'port': 'http'/);
  assert.throws(() => serveSettings({}, { ITOP_CRON_HTTP_PORT: '-1' }), /Invalid value for 'port': '-1'/);
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '192.168.1.10', 'itop.example.com']) assert.equal(isLoopbackHost(h), false, h);
});
