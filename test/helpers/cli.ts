/**
 * Spawns the built CLI (`bin/itop-cron.js` over `dist/`) as a user's crontab would, and collects what it
 * printed. `npm test` builds first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestDb } from './testDb.js';
import { tempDir } from './tempDir.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(REPO, 'bin', 'itop-cron.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the process after this many ms (a test must never hang). */
  timeoutMs?: number;
  /** Called once the child is started (to send it signals). */
  onSpawn?: (child: ChildProcess) => void;
  /** A command that runs node in turn (e.g. `['faketime', '-f', '+30s']`). */
  wrap?: readonly string[];
}

/** A minimal environment: no inherited ITOP_* variables, only what the test gives. */
function baseEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ITOP_')) env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Runs `itop-cron <args>` and resolves when it exits. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = [...(opts.wrap ?? []), process.execPath];
    const child = spawn(cmd ?? process.execPath, [...pre, BIN, ...args], {
      cwd: opts.cwd ?? tempDir('itop-cron-cwd-'),
      env: baseEnv(opts.env ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    opts.onSpawn?.(child);
  });
}

/** Environment pointing the CLI at a test database, with short run times. */
export function cliEnv(db: TestDb, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ITOP_CRON_LOG_LEVEL: 'info', ITOP_TIMEZONE: 'Europe/Paris', ...db.env, ...extra };
}

/** A parameter file (mode 0600) in a fresh directory; returns its path. */
export function writeParamFile(content: string, name = 'cron.params'): string {
  const dir = tempDir('itop-cron-params-');
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, 0o600);
  return path;
}

/** An iTop root with conf/production/config-itop.php pointing at the test database, and data/. */
export function makeItopRoot(db: TestDb, settings: Record<string, string | number | boolean> = {}, moduleSettingsPhp = ''): string {
  const root = tempDir('itop-root-');
  mkdirSync(join(root, 'conf', 'production'), { recursive: true });
  mkdirSync(join(root, 'data'), { recursive: true });
  mkdirSync(join(root, 'log'), { recursive: true });
  const all: Record<string, string | number | boolean> = {
    db_host: `${db.server.host}:${db.server.port}`,
    db_user: db.server.user,
    db_pwd: db.server.password,
    db_name: db.name,
    db_subname: db.prefix,
    timezone: 'Europe/Paris',
    cron_max_execution_time: 2,
    cron_sleep: 1,
    ...settings,
  };
  const php = (v: string | number | boolean): string =>
    typeof v === 'string' ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(v);
  const body = Object.entries(all)
    .map(([k, v]) => `\t'${k}' => ${php(v)},`)
    .join('\n');
  writeFileSync(
    join(root, 'conf', 'production', 'config-itop.php'),
    `<?php\n$MySettings = array(\n${body}\n);\n$MyModuleSettings = array(\n${moduleSettingsPhp}\n);\n$MyModules = array(\n\t'addons' => array('user rights' => 'addons/userrights/userrightsprofile.class.inc.php'),\n);\n`,
  );
  return root;
}
