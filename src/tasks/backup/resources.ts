/**
 * The files a backup carries next to the dump: the configuration as `config-itop.php`,
 * `data/production.delta.xml` as `delta.xml`, `data/production-modules/`, and the `extra_files` of the
 * itop-backup module (paths relative to the iTop root, which must stay inside it).
 */
import { cp, copyFile, mkdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import type { PhpValue } from '../../config/types.js';
import { phpString } from '../../config/php.js';

/** Where the resources come from. */
export interface ResourceSources {
  /** config-itop.php to embed; undefined for an install configured without one. */
  readonly configFile: string | undefined;
  readonly appRoot: string | undefined;
  /** The `extra_files` module setting, as read. */
  readonly extraFiles: PhpValue | undefined;
}

/** Progress lines, as iTop's backup prints them. */
export type Progress = (line: string) => void;

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

/** The `extra_files` setting as a list of relative paths (an array, or an associative array's values). */
function extraFileList(v: PhpValue | undefined): string[] {
  if (v === undefined || v === null || typeof v !== 'object') return [];
  return Object.values(v).map((item) => phpString(item)).filter((s) => s !== '');
}

/**
 * `rel` inside the iTop root, resolved through symbolic links; undefined when it does not exist.
 * Throws iTop's error when it escapes the root.
 */
async function insideRoot(appRoot: string, rel: string): Promise<string | undefined> {
  const full = join(appRoot, rel);
  if (!(await exists(full))) return undefined;
  const [real, root] = await Promise.all([realpath(full), realpath(appRoot)]);
  const r = relative(root, real);
  if (isAbsolute(rel) || r === '' || r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r)) {
    throw new Error(`Backup: Aborting, resource '${rel}'. Considered as UNSAFE because not inside the iTop directory.`);
  }
  return real;
}

/** Copies the extra files and directories; returns their archive entries (relative paths). */
async function copyExtraFiles(appRoot: string, list: readonly string[], work: string, progress: Progress): Promise<string[]> {
  const entries: string[] = [];
  for (const rel of list) {
    const source = await insideRoot(appRoot, rel);
    if (source === undefined) continue; // iTop ignores missing extra files
    const entry = normalize(rel).replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    const target = join(work, entry);
    if ((await stat(source)).isDirectory()) {
      progress(`backup: adding directory '${rel}'`);
      await cp(source, target, { recursive: true });
    } else {
      progress(`backup: adding file '${rel}'`);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(source, target);
    }
    entries.push(entry);
  }
  return entries;
}

/**
 * Copies every resource into the work folder and returns the archive entries, in iTop's order:
 * config-itop.php, delta.xml, production-modules, extra files (the dump is added by the caller).
 */
export async function copyResources(src: ResourceSources, work: string, progress: Progress): Promise<string[]> {
  const entries: string[] = [];
  if (src.configFile !== undefined && (await exists(src.configFile))) {
    progress(`backup: adding resource '${src.configFile}'`);
    await copyFile(src.configFile, join(work, 'config-itop.php'));
    entries.push('config-itop.php');
  }
  if (src.appRoot === undefined) return entries;
  const delta = join(src.appRoot, 'data', 'production.delta.xml');
  if (await exists(delta)) {
    progress(`backup: adding resource '${delta}'`);
    await copyFile(delta, join(work, 'delta.xml'));
    entries.push('delta.xml');
  }
  const modules = join(src.appRoot, 'data', 'production-modules');
  if (await stat(modules).then((s) => s.isDirectory(), () => false)) {
    progress(`backup: adding resource '${modules}/'`);
    await cp(modules, join(work, 'production-modules'), { recursive: true });
    entries.push('production-modules');
  }
  entries.push(...(await copyExtraFiles(src.appRoot, extraFileList(src.extraFiles), work, progress)));
  return entries;
}
