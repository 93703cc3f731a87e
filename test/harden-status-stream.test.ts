/**
 * The status table of a huge registry (issue 16, "Smaller"): the web `status_only` answer of `itop-cron
 * serve` on a 200,000-row priv_backgroundtask held ~330 MiB (every row, every line and the whole text in
 * memory at once). It is streamed now: rows are written as they come from the server, so the memory of
 * the serve process stays bounded, and the text is still the command line's `--status_only`, byte for byte.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { test } from 'node:test';
import { basicAuthHeader } from '../src/http/basicAuth.js';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';

const PWD = 'Stream.Pa55word';
const ROWS = 200_000;
/** A generous bound: the process starts at ~70 MiB; holding the table took ~330 MiB. */
const MAX_PEAK_MIB = 150;

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Starts a GET and hangs up after the first chunk of the body; resolves with the bytes seen. */
function hangUpEarly(port: number, path: string, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Authorization: auth }, agent: false }, (res) => {
      res.once('data', (d: Buffer) => {
        req.destroy();
        resolve(d.length);
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    req.end();
  });
}

function getBody(port: number, path: string, auth: string): Promise<{ status: number; body: Buffer; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Authorization: auth }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('serve: status_only on a 200,000-row registry is streamed in bounded memory, the CLI text byte for byte', { skip: process.platform !== 'linux' ? 'reads /proc' : false, timeout: 300_000 }, async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  // Distinct names (a tie's order is the server's), some longer than the column, NULL dates and NULL
  // class names (identical rows: their order cannot show), every status.
  await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, first_run_date, latest_run_date, next_run_date, ` +
      'total_exec_count, latest_run_duration, average_run_duration, status) ' +
      `SELECT IF(seq % 50000 = 0, NULL, CONCAT(IF(seq % 3 = 0, 'Acme\\\\Very\\\\Long\\\\Namespace\\\\Task', 'Task'), LPAD(seq, 6, '0'))), ` +
      "'2026-01-01 00:00:00', IF(seq % 7 = 0, NULL, '2026-11-30 12:00:00'), '2026-12-31 00:00:00', seq % 1000, " +
      `(seq % 5000) / 1000, (seq % 3000) / 1000, ELT(1 + seq % 3, 'active', 'paused', 'removed') FROM seq_1_to_${ROWS}`,
  );
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const cli = await runCli([`--param_file=${params}`, '--status_only=1'], { env: cliEnv(db), timeoutMs: 120_000 });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout.split('\n').length, ROWS + 4 + 1, 'the table: 3 header lines, the rows, the border, then the final newline');

  type Memory = { rss: number; peak: number };
  let exchange: Promise<{ status: number; body: Buffer; ms: number; before: Memory; after: Memory; again: Buffer }> | undefined;
  const serve = await runCli(['serve', '--port=0', '--stop_timeout=0'], {
    env: cliEnv(db, { ITOP_CRON_LOG_LEVEL: 'warn' }),
    timeoutMs: 240_000,
    onSpawn: (child: ChildProcess) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/webservices\/cron\.php\n/.exec(out);
        if (m === null || exchange !== undefined) return;
        exchange = (async () => {
          const pid = child.pid!;
          const before = memoryMiB(pid);
          const got = await getBody(Number(m[1]), '/webservices/cron.php?status_only=1', basicAuthHeader('admin', PWD));
          const after = memoryMiB(pid);
          // A client that hangs up in the middle of the table: the server goes on serving whole answers.
          await hangUpEarly(Number(m[1]), '/webservices/cron.php?status_only=1', basicAuthHeader('admin', PWD));
          const again = await getBody(Number(m[1]), '/webservices/cron.php?status_only=1', basicAuthHeader('admin', PWD));
          child.kill('SIGTERM');
          return { ...got, before, after, again: again.body };
        })();
        exchange.catch(() => child.kill('SIGKILL'));
      });
    },
  });
  assert.equal(serve.code, 0, serve.stdout + serve.stderr);
  const { status, body, ms, before, after, again } = await exchange!;
  t.diagnostic(
    `serve before the request: RSS ${before.rss.toFixed(0)} MiB (peak ${before.peak.toFixed(0)}); after it: RSS ${after.rss.toFixed(0)} MiB, ` +
      `peak ${after.peak.toFixed(0)} MiB; ${(body.length / 1024 / 1024).toFixed(1)} MiB answered in ${(ms / 1000).toFixed(1)} s`,
  );
  assert.equal(status, 200);
  assert.ok(body.equals(Buffer.from(cli.stdout, 'utf8')), 'the web answer is the command line text, byte for byte');
  assert.ok(again.equals(body), 'after a client hung up mid-table, the next answer is whole');
  assert.ok(after.peak < MAX_PEAK_MIB, `peak RSS of serve ${after.peak.toFixed(0)} MiB < ${MAX_PEAK_MIB} MiB`);
});
