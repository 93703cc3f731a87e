/**
 * `--version` and `--help` start in the time of a bare `node` (bench: startup) because they load only
 * the shim and one small bundled file: no database driver, configuration reader, logger or commander,
 * not even a Node built-in through ESM.
 * The built CLI is spawned with loader hooks that record every module it resolves.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CommandIo } from '../src/cli/cronCommand.js';
import { BIN, REPO } from './helpers/cli.js';
import { tempDir } from './helpers/tempDir.js';

const RECORDER = join(REPO, 'test', 'fixtures', 'startup', 'record-modules.mjs');

/** The module URLs `itop-cron <args>` resolved, relative to the repository; node: builtins as they are. */
function modulesOf(args: readonly string[]): { stdout: string; modules: string[] } {
  const file = join(tempDir('itop-cron-modules-'), 'modules.txt');
  const r = spawnSync(process.execPath, ['--import', RECORDER, BIN, ...args], {
    cwd: tempDir('itop-cron-cwd-'),
    env: { PATH: process.env['PATH'], ITOP_CRON_TEST_MODULES: file },
    encoding: 'utf8',
  });
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const prefix = `file://${REPO}/`;
  return { stdout: r.stdout, modules: [...new Set(lines.map((u) => (u.startsWith(prefix) ? u.slice(prefix.length) : u)))] };
}

/** The sources that a --version or --help start may run (the bundle names each in a `// src/...` line). */
const ALLOWED = new Set(['src/cli/quick.ts', 'src/cli/helpText.ts']);

/** The sources (ours and node_modules') in the bundled files loaded: esbuild heads each with its path. */
function sourcesIn(files: readonly string[]): string[] {
  return files.flatMap((f) => [...readFileSync(join(REPO, f), 'utf8').matchAll(/^\/\/ ((?:src|node_modules)\/\S+)$/gm)].map((m) => m[1] ?? ''));
}

test('--version, -V, --help, -h and help load the entry and one small bundled file, nothing else', () => {
  for (const args of [['--version'], ['-V'], ['--help'], ['-h'], ['help']]) {
    const { stdout, modules } = modulesOf(args);
    assert.ok(stdout.length > 0, `${args.join(' ')} printed nothing`);
    const files = modules.filter((m) => !m.startsWith('node:'));
    assert.deepEqual(files, ['bin/itop-cron.js', 'dist/quick/quick.js'], `${args.join(' ')}: other files`);
    const sources = sourcesIn(files.slice(1));
    assert.ok(sources.includes('src/cli/quick.ts'), sources.join(', '));
    assert.deepEqual(sources.filter((s) => !ALLOWED.has(s)), [], `${args.join(' ')} loaded more`);
    // Not even a Node built-in through ESM (each costs a bare start ~10 %: process.getBuiltinModule instead).
    assert.deepEqual(modules.filter((m) => m.startsWith('node:')), [], `${args.join(' ')} imported built-ins`);
  }
});

test('the quick --help is the one main() prints, extension-free', async () => {
  const { main } = await import('../src/cli/main.js');
  let text = '';
  const sink = { raw: (s: string) => void (text += s), line: (s: string) => void (text += `${s}\n`) };
  const io: CommandIo = { out: sink, err: sink, env: {}, cwd: REPO, signal: new AbortController().signal };
  await main(['--help'], io);
  assert.equal(modulesOf(['--help']).stdout, text);
  assert.match(text, /\n {2}serve {2,}web mode/);
});

test('a cron run loads the shim, the code cache loader and its one bundle, not the modules of dist/', () => {
  // The bundle (dist/run/itop-cron.cjs) is read and compiled by src/boot/codeCache.ts, not resolved.
  const { stdout, modules } = modulesOf(['--param_file=/nonexistent/x.params']);
  assert.match(stdout, /Could not find the parameter file/);
  assert.deepEqual(modules.filter((m) => !m.startsWith('node:')).sort(), ['bin/itop-cron.js', 'dist/boot/codeCache.js', 'dist/boot/dynamicImport.js', 'dist/config/cliParam.js']);
});

test("a cron run's own code loads no nodemailer, tar or notification code before a native task runs", () => {
  // What runCron.ts and cronCommand.ts import for a run, and the task list it builds: with every task in
  // iTop's PHP, none of these heavy modules is needed (bench/RESULTS.md, php group).
  const file = join(tempDir('itop-cron-modules-'), 'modules.txt');
  const entries = ['cli/cronCommand.js', 'cli/runCron.js', 'scheduler/cronExec.js', 'scheduler/deadline.js', 'php/openBridge.js', 'ops/runOps.js'];
  const script = [
    ...entries.map((e) => `await import(${JSON.stringify(`${REPO}/dist/${e}`)});`),
    `const { builtInTasks } = await import(${JSON.stringify(`${REPO}/dist/tasks/registry.js`)});`,
    'console.log(builtInTasks().map((t) => t.className).join(","));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', RECORDER, '--input-type=module', '-e', script], {
    env: { PATH: process.env['PATH'], ITOP_CRON_TEST_MODULES: file },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^CheckStopWatchThresholds,LogFileRotationProcess,ExecAsyncTask,BulkExportResultGC,InlineImageGC,BackupExec,/);
  const modules = readFileSync(file, 'utf8').split('\n');
  assert.ok(modules.some((m) => m.includes('/dist/scheduler/cronExec.js')), 'the recorder saw nothing');
  const heavy = modules.filter((m) => /\/node_modules\/(nodemailer|tar)\/|\/dist\/notify\/|\/dist\/mail\/transport\.js|\/dist\/tasks\/(CheckStopWatchThresholds|ExecAsyncTask|BackupExec)\.js/.test(m));
  assert.deepEqual(heavy, []);
});
