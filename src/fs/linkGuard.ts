/**
 * Deletions never go through a symbolic link (issue 16 item 12): when `<iTop root>/log` or
 * `data/backups/auto` points elsewhere, a purge or a retention running as root would delete files of
 * another tree. Before deleting in a directory, its path is checked with lstat() component by component.
 */
import { lstat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * The first symbolic link on the way to `dir`: `dir` itself, and, when `dir` lies inside `root`, every
 * directory between the root (which may itself be a link: it is the administrator's choice) and `dir`.
 * Undefined when there is none, or when a component does not exist (nothing to delete there).
 */
export async function symlinkOnPath(root: string | undefined, dir: string): Promise<string | undefined> {
  const target = resolve(dir);
  const rel = root === undefined ? '' : relative(resolve(root), target);
  const inside = root !== undefined && rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  const steps: string[] = [];
  if (inside) {
    let p = resolve(root);
    for (const part of rel.split(sep)) steps.push((p = join(p, part)));
  } else {
    steps.push(target);
  }
  for (const p of steps) {
    const st = await lstat(p).catch(() => undefined);
    if (st === undefined) return undefined;
    if (st.isSymbolicLink()) return p;
  }
  return undefined;
}
