/**
 * `itop-cron serve` against malformed requests, sent byte for byte over a raw socket to the spawned
 * server while a run is in progress: each one gets 400 (or Node's own 4xx), the server goes on, and the
 * run in progress ends normally.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { test } from 'node:test';
import { basicAuthHeader } from '../src/http/basicAuth.js';
import { parseRequestTarget } from '../src/http/requestUrl.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';

const PWD = 'Web.Cr0n-Secret';
const ADMIN = basicAuthHeader('admin', PWD);
const NEVER_MS = 30_000;

/** Sends `raw` on a fresh connection and resolves with everything the server answered before closing. */
function rawRequest(port: number, raw: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      answer += d;
      // One answer is enough; keep-alive would otherwise hold the socket open.
      if (/\r\n\r\n/.test(answer)) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.setTimeout(NEVER_MS, () => socket.destroy(new Error('no answer')));
    socket.write(raw);
  });
}

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp, seen = ''): Promise<string> {
  const decoder = new TextDecoder();
  let text = seen;
  while (!pattern.test(text)) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

const HOSTILE: readonly string[] = [
  'GET //%/ HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET //%/webservices/cron.php?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET //[::1/ HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET http://%/ HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET * HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /webservices/cron.php?%zz=%&status_only=%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n',
  'BREW /webservices/cron.php HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
  '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n',
];

test('request targets are read without throwing; only origin-form paths are served', () => {
  assert.equal(parseRequestTarget('//%/'), undefined);
  assert.equal(parseRequestTarget('/%zz/cron'), undefined);
  assert.equal(parseRequestTarget('//webservices/cron.php')?.pathname, '/webservices/cron.php');
  assert.equal(parseRequestTarget('http://%/'), undefined);
  assert.equal(parseRequestTarget('*'), undefined);
  assert.equal(parseRequestTarget('/cron?verbose=1&x=%zz')?.searchParams.get('x'), '%zz');
  assert.equal(parseRequestTarget('/webservices/cron.php?verbose=1')?.pathname, '/webservices/cron.php');
});

test('no request ends serve: malformed requests during a run get 4xx, the run and the server go on', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  let port = 0;
  let exchange: Promise<{ answers: string[]; run: string; after: number }> | undefined;
  const auth = { headers: { Authorization: ADMIN } };
  const r = await runCli(['serve', '--port=0', '--stop_timeout=0'], {
    env: cliEnv(db, { ITOP_CRON_LOG_LEVEL: 'silent', ITOP_CRON_MAX_EXECUTION_TIME: '3', ITOP_CRON_SLEEP: '1' }),
    timeoutMs: NEVER_MS * 2,
    onSpawn: (child: ChildProcess) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/webservices\/cron\.php\n/.exec(out);
        if (m === null || port !== 0) return;
        port = Number(m[1]);
        exchange = (async () => {
          const res = await fetch(`http://127.0.0.1:${port}/webservices/cron.php?verbose=1`, auth);
          const reader = res.body!.getReader();
          const seen = await readUntil(reader, /Planned duration = 3 seconds\n/);
          const answers: string[] = [];
          for (const raw of HOSTILE) answers.push(await rawRequest(port, raw));
          const run = await readUntil(reader, /\nExiting: .*\n$/, seen);
          const after = (await fetch(`http://127.0.0.1:${port}/cron?status_only=1`, auth)).status;
          child.kill('SIGTERM');
          return { answers, run, after };
        })();
        exchange.catch(() => child.kill('SIGKILL'));
      });
    },
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stderr, /TypeError|Invalid URL|\n\s+at /);
  const { answers, run, after } = await exchange!;
  HOSTILE.forEach((raw, i) => assert.match(answers[i]!, /^HTTP\/1\.1 4\d\d /, JSON.stringify(raw)));
  assert.match(answers[0]!, /^HTTP\/1\.1 400 /);
  assert.match(run, /\nExiting: \d+ \(.+\)\n$/);
  assert.equal(after, 200);
});
