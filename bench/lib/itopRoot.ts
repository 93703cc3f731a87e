/**
 * An iTop root of the bench's own (conf/production/config-itop.php, data/, log/) for the figures that need
 * settings the ITOP_* variables do not carry (the SMTP transport).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchDb } from './server.js';

const php = (v: string | number | boolean): string =>
  typeof v === 'string' ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(v);

/** The roots this bench process made: removed when it exits, whatever ended it. */
const made = new Set<string>();
let cleanupRegistered = false;

function track(root: string): string {
  made.add(root);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.on('exit', () => {
      for (const r of made) rmSync(r, { recursive: true, force: true });
    });
  }
  return root;
}

/** Writes the root and returns its path; `settings` go into $MySettings next to the database settings. */
export function makeItopRoot(db: BenchDb, settings: Record<string, string | number | boolean> = {}): string {
  return writeItopRoot({ host: db.settings.host, user: db.settings.user, password: db.settings.password, name: db.name }, settings);
}

/** The same for any database (a Galera node of the cluster figures). */
export function writeItopRoot(
  db: { host: string; user: string; password: string; name: string }, settings: Record<string, string | number | boolean> = {},
): string {
  const root = track(mkdtempSync(join(tmpdir(), 'itop-cron-bench-root-')));
  for (const dir of ['conf/production', 'data', 'log']) mkdirSync(join(root, dir), { recursive: true });
  const all: Record<string, string | number | boolean> = {
    db_host: db.host, db_user: db.user, db_pwd: db.password, db_name: db.name,
    db_subname: '', timezone: 'UTC', ...settings,
  };
  const body = Object.entries(all).map(([k, v]) => `\t'${k}' => ${php(v)},`).join('\n');
  writeFileSync(
    join(root, 'conf', 'production', 'config-itop.php'),
    `<?php\n$MySettings = array(\n${body}\n);\n$MyModuleSettings = array();\n$MyModules = array();\n`,
  );
  return root;
}
