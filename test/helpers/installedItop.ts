/**
 * The real installed iTop 3.2 trees shipped beside the repository (shared/reference/itop-3.2-installed):
 * unpacked into a temporary directory, their database loaded into a fresh test database, and the
 * configuration pointed at it, so that both the real `php webservices/cron.php` and itop-cron run on them.
 * Optionally a test module is added the way an installed extension's code is: a file under env-production/
 * included by iTop's compiled autoload.php, whose classes iTop's InterfaceDiscovery then finds.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findPhp } from '../../src/php/settings.js';
import type { TestServer } from './mariadb.js';
import { createTestDb, loadDump, type TestDb } from './testDb.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folder of the installed trees: env ITOP_INSTALLED_DIR, else `<repo>/../shared/...`, else `/work/shared/...`. */
export function installedDir(): string | undefined {
  for (const dir of [
    process.env['ITOP_INSTALLED_DIR'],
    join(repoRoot, '..', 'shared', 'reference', 'itop-3.2-installed'),
    '/work/shared/reference/itop-3.2-installed',
  ]) {
    if (dir !== undefined && dir !== '' && existsSync(join(dir, 'itop-3.2.tar.xz'))) return dir;
  }
  return undefined;
}

/** Why the real-iTop tests cannot run here, or undefined when they can. */
export function realItopMissing(): string | undefined {
  if (installedDir() === undefined) return 'the installed iTop trees (reference/itop-3.2-installed) are missing (set ITOP_INSTALLED_DIR)';
  if (findPhp('php') === undefined) return 'PHP is not installed (.ci/run installs php-cli and its extensions)';
  return undefined;
}

export const ADMIN = { login: 'admin', password: 'Admin.123456' } as const;

export interface InstalledItop {
  readonly root: string;
  readonly db: TestDb;
  /** The configuration file, rewritten for the test database. */
  readonly configFile: string;
}

export interface InstalledOptions {
  readonly variant?: 'base' | 'mail2ticket';
  /** PHP source of a test module (without `<?php`), included by env-production/autoload.php. */
  readonly modulePhp?: string;
  /** cron_max_execution_time written in the configuration. */
  readonly cronMax?: number;
}

function setConfig(file: string, key: string, php: string): void {
  const text = readFileSync(file, 'utf8');
  const re = new RegExp(`('${key}' => )[^\\n]*,`);
  if (!re.test(text)) throw new Error(`no '${key}' in ${file}`);
  writeFileSync(file, text.replace(re, `$1${php},`));
}

const phpString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A database the caller created (empty), and the server account that reaches it. */
export interface ItopDbTarget {
  readonly server: TestServer;
  readonly name: string;
}

/** An unpacked tree: `remove()` deletes it (the database stays the caller's). */
export interface ItopTree {
  readonly root: string;
  readonly configFile: string;
  remove(): void;
}

/**
 * Unpacks a tree into a new temporary directory, loads its database into `target` (created empty by the
 * caller), points its configuration at it and adds the test module. Needs no TestContext, so that the
 * bench can use it; nothing is left behind but the tree, which `remove()` deletes. About 4 s.
 */
export async function unpackInstalledItop(target: ItopDbTarget, o: InstalledOptions = {}): Promise<ItopTree> {
  const dir = installedDir();
  if (dir === undefined) throw new Error('reference/itop-3.2-installed not found');
  const base = o.variant === 'mail2ticket' ? 'itop-3.2-mail2ticket' : 'itop-3.2';
  const root = mkdtempSync(join(tmpdir(), 'itop-installed-'));
  const remove = (): void => rmSync(root, { recursive: true, force: true });
  try {
    execFileSync('tar', ['-C', root, '--strip-components=1', '-xJf', join(dir, `${base}.tar.xz`)]);
    const sqlDir = mkdtempSync(join(tmpdir(), 'itop-dump-'));
    try {
      const sql = join(sqlDir, 'dump.sql');
      execFileSync('sh', ['-c', `xz -dc "$1" > "$2"`, 'sh', join(dir, `${base}-fresh.sql.xz`), sql]);
      await loadDump(target.server, target.name, sql);
    } finally {
      rmSync(sqlDir, { recursive: true, force: true });
    }
    const configFile = join(root, 'conf', 'production', 'config-itop.php');
    chmodSync(configFile, 0o640);
    setConfig(configFile, 'db_host', phpString(`${target.server.host}:${target.server.port}`));
    setConfig(configFile, 'db_user', phpString(target.server.user));
    setConfig(configFile, 'db_pwd', phpString(target.server.password));
    setConfig(configFile, 'db_name', phpString(target.name));
    setConfig(configFile, 'cron_max_execution_time', String(o.cronMax ?? 4));
    if (o.modulePhp !== undefined) addModule(root, o.modulePhp);
    return { root, configFile, remove };
  } catch (e) {
    remove();
    throw e;
  }
}

/** Unpacks a tree into a fresh test database of `t` (both removed after the test). About 4 s. */
export async function installedItop(t: TestContext, o: InstalledOptions = {}): Promise<InstalledItop> {
  const db = await createTestDb(t, { schema: false });
  const tree = await unpackInstalledItop(db, o);
  // Registered after the database's own clean-up, so it runs first (after-hooks run in reverse order).
  t.after(() => tree.remove());
  return { root: tree.root, db, configFile: tree.configFile };
}

/** Adds the test module as iTop's setup adds a module's code: a file under env-production/ that autoload.php includes. */
export function addModule(root: string, php: string, name = 'itop-cron-test'): void {
  const moduleDir = join(root, 'env-production', name);
  mkdirSync(moduleDir, { recursive: true });
  writeFileSync(join(moduleDir, `main.${name}.php`), `<?php\n${php}\n`);
  appendFileSync(join(root, 'env-production', 'autoload.php'), `\nMetaModel::IncludeModule(MODULESROOT.'/${name}/main.${name}.php');\n`);
}

/** Sets one `$MySettings` entry of the configuration (PHP source of the value). */
export function setItopSetting(configFile: string, key: string, php: string): void {
  const text = readFileSync(configFile, 'utf8');
  if (new RegExp(`'${key}' => `).test(text)) setConfig(configFile, key, php);
  else writeFileSync(configFile, text.replace(/\$MySettings = array\(/, `$&\n\t'${key}' => ${php},`));
}
