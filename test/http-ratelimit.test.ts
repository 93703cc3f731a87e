/**
 * The login rate limit of `itop-cron serve` (issue 16, item 13), with real HTTP requests against the built
 * CLI: guesses spread over many addresses of 127.0.0.0/8 meet a budget of failures shared by all
 * addresses, and simultaneous logins with the right password are never refused (only failures count).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { test } from 'node:test';
import { basicAuthHeader } from '../src/http/basicAuth.js';
import { clientKey, FailureLimiter } from '../src/http/rateLimit.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';

const PWD = 'Rate.L1mit-Secret';
const NEVER_MS = 60_000;

/** GET `path` from the local address `from` (any 127.x.y.z is loopback on Linux); resolves with the status. */
function getFrom(port: number, from: string, path: string, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress: from, headers: { Authorization: auth }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function count(statuses: readonly number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}

test('serve: 20 simultaneous right logins from one address all get in; 40 guesses from 40 addresses meet the global budget', { timeout: 120_000 }, async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  let exchange: Promise<{ right: number[]; guesses: number[]; known: number; stranger: number; seconds: number }> | undefined;
  const r = await runCli(['serve', '--port=0', '--stop_timeout=0'], {
    env: cliEnv(db, { ITOP_CRON_LOG_LEVEL: 'silent' }),
    timeoutMs: NEVER_MS,
    onSpawn: (child: ChildProcess) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/webservices\/cron\.php\n/.exec(out);
        if (m === null || exchange !== undefined) return;
        const port = Number(m[1]);
        exchange = (async () => {
          const path = '/webservices/cron.php?status_only=1';
          const right = await Promise.all(Array.from({ length: 20 }, () => getFrom(port, '127.0.0.1', path, basicAuthHeader('admin', PWD))));
          const started = performance.now();
          const guesses = await Promise.all(
            Array.from({ length: 40 }, (_v, i) => getFrom(port, `127.0.${1 + Math.floor(i / 20)}.${10 + (i % 20)}`, path, basicAuthHeader('admin', `guess${i}`))),
          );
          const seconds = (performance.now() - started) / 1000;
          // The budget is spent: an address that logged in before still gets in, a new one does not.
          const known = await getFrom(port, '127.0.0.1', path, basicAuthHeader('admin', PWD));
          const stranger = await getFrom(port, '127.0.9.9', path, basicAuthHeader('admin', PWD));
          child.kill('SIGTERM');
          return { right, guesses, known, stranger, seconds };
        })();
        exchange.catch(() => child.kill('SIGKILL'));
      });
    },
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const { right, guesses, known, stranger, seconds } = await exchange!;
  t.diagnostic(`20 right logins at once: ${JSON.stringify(count(right))}; 40 guesses from 40 addresses in ${seconds.toFixed(1)} s: ${JSON.stringify(count(guesses))}`);
  assert.deepEqual(count(right), { 200: 20 }, 'a login in progress is not a failure');
  assert.ok(seconds < 5, 'the guesses were answered within 5 s');
  assert.deepEqual(count(guesses), { 401: 20, 429: 20 }, 'at most 20 failures a minute, all addresses together');
  assert.equal(known, 200);
  assert.equal(stranger, 429);
});

test('FailureLimiter: only failures count, logins in progress wait their turn, the global budget binds every address', async () => {
  let now = 0;
  const limiter = new FailureLimiter({ max: 2, globalMax: 3, windowMs: 1000, now: () => now });
  // Five simultaneous logins of one address that all succeed: none is refused.
  const tickets = await Promise.all(Array.from({ length: 5 }, async () => {
    const ticket = await limiter.begin('a');
    assert.ok(ticket !== undefined);
    await new Promise((r) => setImmediate(r));
    ticket.succeeded();
    return ticket;
  }));
  assert.equal(tickets.length, 5);
  // Three simultaneous guesses of one address: two are checked and fail, the third is refused.
  const results = await Promise.all(Array.from({ length: 3 }, async () => {
    const ticket = await limiter.begin('b');
    if (ticket === undefined) return 'refused';
    await new Promise((r) => setImmediate(r));
    ticket.failed();
    return 'failed';
  }));
  assert.deepEqual(results.sort(), ['failed', 'failed', 'refused']);
  assert.equal(limiter.retryAfterSeconds('b'), 1);
  // One more failure elsewhere spends the global budget (3): a new address is refused, a known one is not.
  (await limiter.begin('c'))!.failed();
  assert.equal(await limiter.begin('d'), undefined);
  const known = await limiter.begin('a');
  assert.ok(known !== undefined, 'an address that logged in recently is not locked out by others');
  known.succeeded();
  now = 1001;
  assert.ok((await limiter.begin('d')) !== undefined, 'the window moved on');
});

test('clientKey: IPv4 as is (also IPv4-mapped), IPv6 by its /64, anything else as given', () => {
  assert.equal(clientKey('127.0.1.10'), '127.0.1.10');
  assert.equal(clientKey('::ffff:127.0.1.10'), '127.0.1.10');
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:DB8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
  assert.equal(clientKey('unknown'), 'unknown');
  assert.equal(clientKey('1::2::3'), '1::2::3');
});
