// The PHP bridge's protocol (php/bridge.php, src/php/worker.ts, src/php/bridge.ts) on the project's own
// fake iTop root (test/fixtures/php-root: the interfaces and one process class per behaviour), no database:
// the listing, what a task returns, echoes and warns, each exception kind, a task killed at its deadline
// (sleeping, busy, ignoring TERM, still bootstrapping), memory exhaustion, exit(), a segfault, a PHP that
// cannot be started, roots the bridge cannot bootstrap, and 200 runs in one worker.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { PhpBridge } from '../src/php/bridge.js';
import { bridgeSettings, findPhp, hasItopSources } from '../src/php/settings.js';
import type { BridgeAnswer } from '../src/php/worker.js';
import { configWith, memoryLog, NO_DB } from './helpers/asyncTaskCtx.js';
import { waitFor } from './helpers/fault.js';
import { tempDir } from './helpers/tempDir.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'php-root');
const PHP = findPhp('php');
const noPhp = PHP === undefined ? 'php is not installed (the PHP bridge needs it)' : false;
const phpHas = (fn: string): boolean =>
  PHP !== undefined && spawnSync(PHP, ['-r', `echo function_exists("${fn}") ? "yes" : "no";`], { encoding: 'utf8' }).stdout === 'yes';
const pcntl = phpHas('pcntl_signal');
const posix = phpHas('posix_kill');

/** The classes the fixture's discovery returns, in its order. */
const CLASSES = [
  'FixtureNormal', 'FixtureEcho', 'FixtureWarning', 'FixtureInvalidConfig', 'FixtureFatal', 'FixtureGoneAway',
  'FixtureException', 'FixtureError', 'FixtureSleep', 'FixtureBusy', 'FixtureIgnoreTerm', 'FixtureMemory',
  'FixtureExit', 'FixtureSegfault', 'FixtureCounter', 'FixtureRawOutput', 'FixtureBrokenPeriodicity', 'FixtureScheduled',
];
/** FixtureScheduled's next occurrence: 2030-01-01 03:00:00 UTC. */
const NEXT = 1893466800;

/** A copy of the fixture root (the bridge writes its opcache under data/). */
function fixtureRoot(): string {
  const root = join(tempDir('itop-cron-php-root-'), 'itop');
  cpSync(FIXTURE, root, { recursive: true });
  mkdirSync(join(root, 'data'), { recursive: true });
  return root;
}

function openBridge(t: TestContext, root: string, o: { php?: string; login?: string } = {}) {
  const { log, lines } = memoryLog();
  const settings = bridgeSettings(configWith(NO_DB, {}, root), {});
  const bridge = new PhpBridge({ php: o.php ?? PHP ?? 'php', itopRoot: root, login: o.login ?? 'admin', settings, log });
  t.after(() => bridge.close());
  return { bridge, lines };
}

/** Runs `cls` with a limit a minute ahead, collecting what it echoes. */
async function run(bridge: PhpBridge, cls: string, signal?: AbortSignal): Promise<{ a: BridgeAnswer; out: string }> {
  let out = '';
  const a = await bridge.run(cls, Math.floor(Date.now() / 1000) + 60, { onOutput: (s) => (out += s), ...(signal !== undefined ? { signal } : {}) });
  return { a, out };
}

/** The worker's pid, as FixtureCounter reports it. */
async function workerPid(bridge: PhpBridge): Promise<number> {
  const { a } = await run(bridge, 'FixtureCounter');
  const m = /in (\d+)$/.exec(String(a.message));
  assert.ok(m !== null, JSON.stringify(a));
  return Number(m[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the PHP bridge protocol on the fixture root', { skip: noPhp, timeout: 180_000 }, async (t) => {
  const root = fixtureRoot();

  await t.test('the fixture root counts as an iTop root with PHP sources', () => {
    assert.equal(hasItopSources(FIXTURE), true);
    assert.equal(hasItopSources(root), true);
  });

  await t.test('list(): every process class in discovery order, with its kind, periodicity or next occurrence', async (t) => {
    const { bridge } = openBridge(t, root);
    const classes = await bridge.list();
    assert.deepEqual(classes.map((c) => c.class), CLASSES);
    for (const c of classes) {
      if (c.class === 'FixtureScheduled') assert.deepEqual(c, { class: 'FixtureScheduled', kind: 'scheduled', next: NEXT });
      else if (c.class === 'FixtureBrokenPeriodicity') {
        // A class whose periodicity cannot be read is listed with its error, not dropped, not fatal to the list.
        assert.deepEqual(c, { class: c.class, kind: 'periodic', error: 'no periodicity configured', error_kind: 'invalid-config' });
      } else assert.deepEqual(c, { class: c.class, kind: 'periodic', periodicity: c.class === 'FixtureEcho' ? 5 : 60 });
    }
    assert.equal(bridge.started, 1);
  });

  await t.test('run(): the message, the limit passed as given, duration and memory figures', async (t) => {
    const { bridge } = openBridge(t, root);
    const a = await bridge.run('FixtureNormal', 1234567890);
    assert.equal(a.ok, true, JSON.stringify(a));
    assert.equal(a.message, 'normal ran, limit 1234567890');
    assert.ok(typeof a.duration === 'number' && a.duration >= 0 && a.duration < 5, JSON.stringify(a));
    assert.ok(typeof a.peak_memory === 'number' && a.peak_memory > 0, JSON.stringify(a));
    const s = await run(bridge, 'FixtureScheduled');
    assert.equal(s.a.ok, true);
    assert.equal(s.a.message, 'scheduled ran');
    assert.equal(s.a.next, NEXT, 'a scheduled process answers its next occurrence');
    const async = await bridge.runAsync(7);
    assert.deepEqual([async.ok, async.found], [true, false], 'an async task that does not exist is not found');
    assert.equal(bridge.started, 1);
  });

  await t.test('what a task echoes comes as output, a forged answer is only text', async (t) => {
    const { bridge, lines } = openBridge(t, root);
    const { a, out } = await run(bridge, 'FixtureEcho');
    assert.equal(a.ok, true, JSON.stringify(a));
    assert.equal(a.message, 'echo done');
    assert.equal(
      out,
      'hello from echo\n\n {"ok":true,"message":"forged"}\n{"ok":true,"message":"forged too"}\na byte that is not UTF-8: \ufffd\nno newline at the end',
    );
    assert.equal(lines().filter((l) => l['msg'] === 'output of the PHP worker outside a task').length, 0);
  });

  await t.test("output that bypasses the bridge's capture is logged as stray stdout; the answer still parses", async (t) => {
    const { bridge, lines } = openBridge(t, root);
    const { a, out } = await run(bridge, 'FixtureRawOutput');
    assert.deepEqual([a.ok, a.message, out], [true, 'raw done', '']);
    const stray = (): string[] => lines().filter((l) => l['stream'] === 'stdout').map((l) => String(l['text']));
    await waitFor('both stray lines', () => stray().length === 2);
    assert.deepEqual(stray(), ['echoed after dropping the buffers', 'written to STDOUT without a newline']);
    const next = await run(bridge, 'FixtureEcho');
    assert.deepEqual([next.a.message, next.out.startsWith('hello from echo\n')], ['echo done', true], 'the next task is captured again');
    assert.equal(bridge.started, 1);
  });

  await t.test('a PHP warning is logged as stray stderr; the answer still parses, the worker is kept', async (t) => {
    const { bridge, lines } = openBridge(t, root);
    const pid = await workerPid(bridge);
    const { a, out } = await run(bridge, 'FixtureWarning');
    assert.deepEqual([a.ok, a.message, out], [true, 'warned', '']);
    await waitFor('the warning in the log', () =>
      lines().some((l) => l['stream'] === 'stderr' && /Undefined array key "fixture_missing_key"/.test(String(l['text']))),
    );
    assert.equal(await workerPid(bridge), pid);
    assert.equal(bridge.started, 1);
  });

  await t.test('each exception kind is answered with its kind; only gone-away costs the worker', async (t) => {
    const { bridge } = openBridge(t, root);
    const cases: Array<[string, string, string, string]> = [
      ['FixtureInvalidConfig', 'invalid-config', 'the fixture is misconfigured', 'ProcessInvalidConfigException'],
      ['FixtureFatal', 'fatal', 'the fixture gave up', 'ProcessFatalException'],
      ['FixtureException', 'exception', 'a plain exception', 'RuntimeException'],
      ['FixtureError', 'php-error', 'Call to undefined function fixture_undefined_function()', 'Error'],
    ];
    const pid = await workerPid(bridge);
    for (const [cls, kind, error, exceptionClass] of cases) {
      const { a } = await run(bridge, cls);
      assert.deepEqual([a.ok, a.kind, a.error, a.class], [false, kind, error, exceptionClass], cls);
      assert.match(String(a.trace), new RegExp(`${cls}->Process\\(\\)`), 'the trace names the task');
    }
    assert.equal(await workerPid(bridge), pid, 'the worker survived the exceptions');
    const { a } = await run(bridge, 'FixtureGoneAway');
    assert.deepEqual([a.ok, a.kind, a.error, a.class], [false, 'gone-away', 'MySQL server has gone away', 'MySQLHasGoneAwayException']);
    await waitFor('the worker gone after the database went away', () => !alive(pid));
    assert.notEqual(await workerPid(bridge), pid);
    assert.equal(bridge.started, 2, 'iTop never reconnects: a new worker after gone-away');
  });

  await t.test('a class that is not a process is refused without losing the worker', async (t) => {
    const { bridge } = openBridge(t, root);
    for (const cls of ['NoSuchFixtureClass', 'UserRights']) {
      const { a } = await run(bridge, cls);
      assert.deepEqual([a.ok, a.kind, a.error], [false, 'exception', `'${cls}' is not an iTop process class`]);
    }
    assert.equal((await run(bridge, 'FixtureNormal')).a.ok, true);
    assert.equal(bridge.started, 1);
  });

  const deadlines: Array<[string, string, boolean]> = [
    ['a task sleeping past its deadline', 'FixtureSleep', false],
    ['a busy loop', 'FixtureBusy', false],
    ['a task that ignores SIGTERM', 'FixtureIgnoreTerm', true],
  ];
  for (const [what, cls, ignoresTerm] of deadlines) {
    const skip = ignoresTerm && !pcntl ? "PHP has no pcntl: a task cannot ignore SIGTERM" : false;
    await t.test(`${what} is killed at its deadline; the next run starts a new worker`, { skip }, async (t) => {
      const { bridge } = openBridge(t, root);
      const pid = await workerPid(bridge);
      const ctl = new AbortController();
      let abortedAt = 0;
      let out = '';
      const answer = bridge.run(cls, Math.floor(Date.now() / 1000) + 1, { signal: ctl.signal, onOutput: (s) => (out += s) });
      if (ignoresTerm) await waitFor('the task ignoring TERM', () => out === 'ignoring TERM\n');
      setTimeout(() => {
        abortedAt = Date.now();
        ctl.abort();
      }, 500);
      const a = await answer;
      const killMs = Date.now() - abortedAt;
      assert.deepEqual([a.ok, a.kind, a.error], [false, 'killed', 'the PHP worker was killed']);
      assert.equal(alive(pid), false, `the worker ${pid} is gone`);
      if (ignoresTerm) assert.ok(killMs >= 900 && killMs < 5000, `KILL after the grace second (${killMs} ms)`);
      else assert.ok(killMs < 900, `TERM was enough (${killMs} ms)`);
      const next = await run(bridge, 'FixtureCounter');
      assert.match(String(next.a.message), /^call 1 in \d+$/, 'a fresh worker');
      assert.equal(bridge.started, 2);
      t.diagnostic(`${cls}: answered ${killMs} ms after the abort`);
    });
  }

  await t.test("a deadline during iTop's bootstrap kills the starting worker at once", async (t) => {
    const r = fixtureRoot();
    writeFileSync(join(r, 'data', 'fixture-bootstrap-hangs'), '');
    const { bridge } = openBridge(t, r);
    const ctl = new AbortController();
    const answer = bridge.run('FixtureNormal', Math.floor(Date.now() / 1000) + 60, { signal: ctl.signal });
    await waitFor('the bootstrap started', () => existsSync(join(r, 'data', 'fixture-bootstrap.pid')));
    const pid = Number(readFileSync(join(r, 'data', 'fixture-bootstrap.pid'), 'utf8'));
    const abortedAt = Date.now();
    ctl.abort();
    const a = await answer;
    const ms = Date.now() - abortedAt;
    assert.deepEqual([a.ok, a.kind], [false, 'killed'], JSON.stringify(a));
    assert.ok(ms < 3000, `answered ${ms} ms after the abort (iTop's bootstrap may take a minute)`);
    assert.equal(alive(pid), false, `the bootstrapping worker ${pid} is gone`);
    assert.equal(bridge.started, 0);
  });

  await t.test("the end of the run during iTop's bootstrap ends the starting worker", async (t) => {
    const r = fixtureRoot();
    writeFileSync(join(r, 'data', 'fixture-bootstrap-hangs'), '');
    const { bridge } = openBridge(t, r);
    const listed = bridge.list().then(
      () => 'listed',
      (e: unknown) => (e as Error).name,
    );
    await waitFor('the bootstrap started', () => existsSync(join(r, 'data', 'fixture-bootstrap.pid')));
    const pid = Number(readFileSync(join(r, 'data', 'fixture-bootstrap.pid'), 'utf8'));
    const closedAt = Date.now();
    await bridge.close();
    assert.equal(await listed, 'BridgeError');
    const ms = Date.now() - closedAt;
    assert.ok(ms < 3000, `list() rejected ${ms} ms after close()`);
    assert.equal(alive(pid), false, `the bootstrapping worker ${pid} is gone`);
  });

  await t.test('memory exhaustion is kind php-fatal, exit() is kind exit: one failed run each, then a new worker', async (t) => {
    const { bridge } = openBridge(t, root);
    const m = await run(bridge, 'FixtureMemory');
    assert.deepEqual([m.a.ok, m.a.kind], [false, 'php-fatal'], JSON.stringify(m.a));
    assert.match(String(m.a.error), /^Allowed memory size of 33554432 bytes exhausted .* in .*processes\.inc\.php:\d+$/);
    assert.equal((await run(bridge, 'FixtureNormal')).a.ok, true);
    assert.equal(bridge.started, 2);
    const e = await run(bridge, 'FixtureExit');
    assert.deepEqual([e.a.ok, e.a.kind, e.a.error, e.out], [false, 'exit', 'the task ended the PHP process (exit)', 'about to exit\n']);
    assert.equal((await run(bridge, 'FixtureNormal')).a.ok, true);
    assert.equal(bridge.started, 3);
  });

  await t.test('a PHP crash (SIGSEGV) is kind crashed: one failed run, then a new worker', { skip: posix ? false : 'PHP has no posix: the fixture cannot crash it' }, async (t) => {
    const { bridge } = openBridge(t, root);
    const pid = await workerPid(bridge);
    const { a } = await run(bridge, 'FixtureSegfault');
    assert.deepEqual([a.ok, a.kind, a.error], [false, 'crashed', 'the PHP worker killed by SIGSEGV']);
    assert.equal(alive(pid), false);
    assert.match(String((await run(bridge, 'FixtureCounter')).a.message), /^call 1 in \d+$/);
    assert.equal(bridge.started, 2);
  });

  await t.test('200 consecutive runs in one worker: every answer is the right one', async (t) => {
    const { bridge, lines } = openBridge(t, root);
    const started = Date.now();
    let pid = '';
    let runs = 0;
    for (let i = 1; i <= 200; i++) {
      const { a, out } = await run(bridge, 'FixtureCounter');
      runs++;
      const m = /^call (\d+) in (\d+)$/.exec(String(a.message));
      assert.ok(m !== null && Number(m[1]) === i, `run ${i}: ${JSON.stringify(a)}`);
      pid ||= m[2] ?? '';
      assert.equal(m[2], pid);
      assert.equal(out, `${'.'.repeat((i * 37) % 5000)}\n`, `run ${i}: its output`);
      if (i % 10 === 0) {
        // Failures, warnings and echoes in between do not shift the answers.
        assert.equal((await run(bridge, 'FixtureException')).a.kind, 'exception');
        assert.equal((await run(bridge, 'FixtureWarning')).a.message, 'warned');
        assert.equal((await run(bridge, 'FixtureEcho')).a.message, 'echo done');
        runs += 3;
      }
    }
    assert.equal(bridge.started, 1);
    assert.equal(lines().filter((l) => l['stream'] === 'stdout').length, 0, 'nothing a task printed was taken as stray');
    t.diagnostic(`${runs} requests in ${Date.now() - started} ms`);
  });

  await t.test("a PHP that cannot be started: list() rejects with one line, itop-cron's process group untouched", async () => {
    const notExecutable = join(tempDir('itop-cron-php-bin-'), 'php');
    writeFileSync(notExecutable, '#!/bin/sh\n');
    chmodSync(notExecutable, 0o644);
    for (const [php, reason] of [['/nonexistent/php', /ENOENT/], [notExecutable, /EACCES/]] as const) {
      const r = await probe(php, root);
      assert.equal(r.signal, null, `the probe was not killed (${r.signal ?? ''}): ${r.stderr}`);
      assert.equal(r.code, 0, r.stderr);
      const e = JSON.parse(r.stdout) as { name: string; kind: string; message: string };
      assert.equal(e.name, 'BridgeError');
      assert.equal(e.kind, 'bootstrap');
      assert.match(e.message, new RegExp(`^the PHP bridge could not start iTop: cannot start ${php}: .*`));
      assert.match(e.message, reason);
      assert.doesNotMatch(e.message, /\n/);
    }
  });

  const startup = (r: string, php: string): void => writeFileSync(join(r, 'application', 'startup.inc.php'), php);
  const broken: Array<[string, (r: string) => void, string, RegExp, string?]> = [
    ['a root without approot.inc.php', (r) => rmSync(join(r, 'approot.inc.php')), 'admin', /no iTop sources in '.*' \(approot\.inc\.php is missing\)$/],
    ['a root without config-itop.php', (r) => rmSync(join(r, 'conf'), { recursive: true }), 'admin', /iTop is not yet installed$/],
    ['a read-only iTop', (r) => writeFileSync(join(r, 'data', '.readonly'), ''), 'admin', /iTop is read-only$/],
    ['a user iTop does not know', () => undefined, 'nobody', /cannot log in the iTop user 'nobody'$/],
    ['a startup.inc.php that does not parse', (r) => startup(r, '<?php this is not PHP;'), 'admin', /syntax error, unexpected identifier "is"$/],
    // Not an exception: a compile error ends PHP, the bridge's shutdown handler answers it.
    ['a PHP fatal error during the bootstrap', (r) => startup(r, '<?php class ItopCronBridge {}'), 'admin', /Cannot declare class ItopCronBridge.* in .*startup\.inc\.php:1$/, 'php-fatal'],
  ];
  for (const [what, breakIt, login, expected, kind = 'bootstrap'] of broken) {
    await t.test(`${what}: list() rejects with a one-line bootstrap error`, async (t) => {
      const r = fixtureRoot();
      breakIt(r);
      const { bridge } = openBridge(t, r, { login });
      const e = await bridge.list().then(
        () => assert.fail('listed'),
        (err: unknown) => err as Error & { kind?: string },
      );
      assert.equal(e.name, 'BridgeError');
      assert.equal(e.kind, kind);
      assert.match(e.message, /^the PHP bridge could not start iTop: /);
      assert.match(e.message, expected);
      assert.doesNotMatch(e.message, /\n/);
      assert.equal(bridge.started, 0);
    });
  }
});

/** test/fixtures/bridge-start-probe.ts in a process group of its own. */
function probe(php: string, root: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'bridge-start-probe.ts'), php, root], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr: stderr + (signal === 'SIGKILL' ? ' (timed out: list() never answered)' : '') });
    });
  });
}
