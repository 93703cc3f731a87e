/**
 * The command line's code cache (src/boot/codeCache.ts), on a bundle of the test's own in a folder of its
 * own (the real one, dist/run/, is shared by every test that spawns the CLI): each case is a real `node`
 * process that loads the bundle through dist/boot/codeCache.js, as bin/itop-cron.js does, and prints
 * what the bundle returned and what became of the cache.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO } from './helpers/cli.js';
import { tempDir } from './helpers/tempDir.js';

const LOADER = join(REPO, 'dist', 'boot', 'codeCache.js');

/**
 * A copy of the loader (dist/boot/) in a folder every user can read, for a run as another user: the
 * checkout may sit in a folder only its owner can enter.
 */
function loaderForAll(): string {
  const dir = tempDir('itop-cron-loader-');
  chmodSync(dir, 0o755);
  for (const f of ['codeCache.js', 'dynamicImport.js']) copyFileSync(join(REPO, 'dist', 'boot', f), join(dir, f));
  return join(dir, 'codeCache.js');
}

/** A bundle with enough functions for V8 to cache, whose answer tells its version apart. */
function writeBundle(file: string, answer: number): void {
  const fns = Array.from({ length: 50 }, (_, i) => `function f${i}(x) { return x + ${i}; }`).join('\n');
  writeFileSync(file, `${fns}\nmodule.exports = { answer: () => f0(${answer}) + f49(0) - 49, dir: __dirname };\n`);
}

/** Loads `bundle` as the shim does; `liveMs`: how long the process lives after loading (a run's length). */
function load(bundle: string, flags = '--semi-space-growth-factor=1', liveMs = 0, asUser?: number): { answer: number; state: string } {
  const script = [
    `const { loadBundle, codeCacheState } = await import(${JSON.stringify(pathToFileURL(asUser === undefined ? LOADER : loaderForAll()).href)});`,
    `const m = loadBundle(${JSON.stringify(bundle)}, 'cron', ${JSON.stringify(flags)});`,
    `await new Promise((r) => setTimeout(r, ${liveMs}));`,
    `console.log(JSON.stringify({ answer: m.answer(), state: codeCacheState() }));`,
  ].join('\n');
  const user = asUser === undefined ? {} : { uid: asUser, gid: asUser, cwd: dirname(bundle) };
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', ...user });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  return JSON.parse(r.stdout) as { answer: number; state: string };
}

/** The header line of a cache file. */
function headerOf(cache: string): Record<string, unknown> {
  return JSON.parse(readFileSync(cache, 'utf8').split('\n')[0] ?? '') as Record<string, unknown>;
}

function setup(): { dir: string; bundle: string; cache: string } {
  const dir = tempDir('itop-cron-code-cache-');
  const bundle = join(dir, 'itop-cron.cjs');
  writeBundle(bundle, 42);
  return { dir, bundle, cache: `${bundle}.cron.cache` };
}

test('the first run compiles and writes the cache; the next one takes it and runs the same code', () => {
  const { dir, bundle, cache } = setup();
  assert.deepEqual(load(bundle, undefined, 1100), { answer: 42, state: 'absent' });
  assert.ok(existsSync(cache), 'no cache written');
  const header = headerOf(cache);
  assert.equal(header['bundleSize'], statSync(bundle).size);
  assert.equal(header['node'], process.version);
  assert.equal(header['flags'], '--semi-space-growth-factor=1');
  const written = statSync(cache).mtimeMs;
  assert.deepEqual(load(bundle), { answer: 42, state: 'accepted' });
  assert.equal(statSync(cache).mtimeMs, written, 'an accepted cache of a full run is left as it is');
  assert.deepEqual(readdirSync(dir).sort(), ['itop-cron.cjs', 'itop-cron.cjs.cron.cache'], 'a temporary file was left');
});

test('a rebuilt bundle of the same length is never run with the old bytecode', () => {
  const { bundle, cache } = setup();
  load(bundle, undefined, 1100);
  writeBundle(bundle, 43); // same length: V8's own check (the source's length) would accept the old cache
  utimesSync(bundle, new Date(), new Date(Date.now() + 5000));
  assert.deepEqual(load(bundle), { answer: 43, state: 'stale' });
  assert.deepEqual(load(bundle), { answer: 43, state: 'accepted' });
  assert.ok(existsSync(cache));
});

test('other V8 flags, a damaged cache and a header that is not one are ignored and replaced', () => {
  const { bundle, cache } = setup();
  load(bundle, undefined, 1100);
  assert.equal(load(bundle, '--semi-space-growth-factor=1 --no-opt').state, 'stale');
  assert.equal(load(bundle, '--semi-space-growth-factor=1 --no-opt').state, 'accepted');
  // V8's bytes damaged under a valid header: V8 refuses them and the run compiles.
  const raw = readFileSync(cache);
  const nl = raw.indexOf(10);
  const damaged = Buffer.from(raw);
  damaged.fill(0x5a, nl + 1 + 16, Math.min(damaged.length, nl + 1 + 4096));
  writeFileSync(cache, damaged);
  assert.deepEqual(load(bundle, '--semi-space-growth-factor=1 --no-opt'), { answer: 42, state: 'rejected' });
  assert.equal(load(bundle, '--semi-space-growth-factor=1 --no-opt').state, 'accepted');
  for (const junk of ['not a cache', 'null\n', '[]\n\u0000', '{"bundleSize":"x"}\n']) {
    writeFileSync(cache, junk);
    assert.equal(load(bundle, '--semi-space-growth-factor=1 --no-opt').answer, 42, JSON.stringify(junk));
    assert.equal(load(bundle, '--semi-space-growth-factor=1 --no-opt').state, 'accepted', JSON.stringify(junk));
  }
});

test("a run that stops at once leaves a cache that the next longer run replaces", () => {
  const { bundle, cache } = setup();
  load(bundle);
  const short = headerOf(cache)['livedMs'] as number;
  assert.ok(short < 1000);
  assert.equal(load(bundle).state, 'accepted');
  assert.equal(headerOf(cache)['livedMs'], short, 'another short run rewrote it');
  load(bundle, undefined, 1100);
  assert.ok((headerOf(cache)['livedMs'] as number) >= 1000);
});

test('a folder the run cannot write to gets no cache, and the run is the same', () => {
  const { dir, bundle, cache } = setup();
  chmodSync(dir, 0o555);
  // As root (CI) the run is made as `nobody`, for whom the folder is read-only.
  const asUser = process.getuid?.() === 0 ? 65534 : undefined;
  try {
    assert.deepEqual(load(bundle, undefined, 1100, asUser), { answer: 42, state: 'absent' });
    assert.equal(existsSync(cache), false);
    assert.deepEqual(readdirSync(dir), ['itop-cron.cjs']);
  } finally {
    chmodSync(dir, 0o755);
  }
});

test('the CLI runs from the bundle of dist/run/, with its code cache', () => {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'itop-cron.js'), '--param_file=/nonexistent/x.params'], { encoding: 'utf8' });
  assert.match(r.stdout, /Could not find the parameter file/);
  assert.ok(existsSync(join(REPO, 'dist', 'run', 'itop-cron.cjs')));
});
