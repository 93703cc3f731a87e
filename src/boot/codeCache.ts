/**
 * Loads the command line's CommonJS bundle (dist/run/itop-cron.cjs, scripts/bundle.mjs) with a V8 code
 * cache: the bytecode of every function a previous run compiled, kept in a file next to the bundle. A cron
 * run lives a few seconds and most of its CPU went to compiling its code (ours, mysql2's) before doing
 * anything; with the cache V8 deserializes that bytecode instead (bench/RESULTS.md, php group).
 *
 * Node 20 has no compile cache for ES modules (module.enableCompileCache() came with Node 22), so the
 * command line runs as one CommonJS script compiled through vm.Script, which takes and produces cached data.
 *
 * The cache is bytecode V8 runs without checking it against the source (V8 compares only the source's
 * length), so it lives only where the bundle itself does, written by whoever can write the bundle: the
 * folder of the bundle. Where that folder cannot be written (a package installed by root, run as
 * www-data) there is no cache and the run compiles as it would without one. Each file names the bundle it
 * was made for (size and modification time), Node's version and the V8 flags of the run: anything else is
 * ignored and replaced. Nothing here may fail a run: every error of the cache is swallowed.
 */
import { accessSync, closeSync, constants, fstatSync, openSync, readFileSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import vm from 'node:vm';
import { lendImport } from './dynamicImport.js';

/** What became of the cache in this process, for the debug log (src/cli/runCron.ts). */
export type CodeCacheState = 'accepted' | 'absent' | 'rejected' | 'stale';

/** The header line that starts a cache file, before V8's bytes. */
interface CacheHeader {
  readonly bundleSize: number;
  readonly bundleMtimeMs: number;
  readonly node: string;
  readonly flags: string;
  /** How long the run that wrote it lived (ms): a cache of a run that stopped at once is replaced by a longer run's. */
  readonly livedMs: number;
}

/** A run that lived this long compiled what a cron pass needs: its cache is not replaced. */
const FULL_RUN_MS = 1000;

const GLOBAL_KEY = Symbol.for('itop-cron.codeCache');

/** The state of the code cache of this process, set by loadBundle(). */
export function codeCacheState(): CodeCacheState | undefined {
  return (globalThis as Record<symbol, CodeCacheState | undefined>)[GLOBAL_KEY];
}

function sameBundle(h: CacheHeader, st: Stats, flags: string): boolean {
  return h.bundleSize === st.size && h.bundleMtimeMs === st.mtimeMs && h.node === process.version && h.flags === flags;
}

/** The cache's header and V8's bytes, or undefined when the file is absent or unreadable. */
function readCache(file: string): { header: CacheHeader; data: Buffer } | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch {
    return undefined;
  }
  const nl = raw.indexOf(10);
  if (nl < 0) return undefined;
  try {
    const header: unknown = JSON.parse(raw.subarray(0, nl).toString('utf8'));
    return typeof header === 'object' && header !== null ? { header: header as CacheHeader, data: raw.subarray(nl + 1) } : undefined;
  } catch {
    return undefined;
  }
}

/** The bundle's source and the status of that same open file. */
function readBundle(bundle: string): { st: Stats; source: string } {
  const fd = openSync(bundle, 'r');
  try {
    return { st: fstatSync(fd), source: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** Writes the cache beside the bundle, whole or not at all (a file of its own, renamed over the old one). */
function writeCache(file: string, header: CacheHeader, data: Buffer): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeSync(fd, `${JSON.stringify(header)}\n`);
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}

/**
 * Runs `bundle` (a CommonJS file) with the code cache `<bundle>.<cacheName>.cache` and returns its
 * exports. `flags` are the V8 flags the caller set (they are part of V8's check, so each set has a cache
 * of its own). The cache is written when the process exits, if it was absent, stale or refused, or
 * came from a run shorter than a pass.
 */
export function loadBundle(bundle: string, cacheName: string, flags: string): unknown {
  const started = Date.now();
  // The size and time checked against the cache are those of the very file read: a rebuild between a
  // stat() and a read could otherwise pair the old bytecode with the new source.
  const { st, source } = readBundle(bundle);
  const cacheFile = `${bundle}.${cacheName}.cache`;
  const found = readCache(cacheFile);
  const usable = found !== undefined && sameBundle(found.header, st, flags);
  // The wrapper Node's own CommonJS loader puts around a module.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    ...(usable ? { cachedData: found.data } : {}),
  });
  const state: CodeCacheState = !usable ? (found === undefined ? 'absent' : 'stale') : script.cachedDataRejected === true ? 'rejected' : 'accepted';
  (globalThis as Record<symbol, CodeCacheState>)[GLOBAL_KEY] = state;
  const shortLived = usable && found.header.livedMs < FULL_RUN_MS;
  if (state !== 'accepted' || shortLived) {
    process.once('exit', () => {
      const livedMs = Date.now() - started;
      if (state === 'accepted' && livedMs < FULL_RUN_MS) return;
      try {
        // Serializing costs a few milliseconds: not for a folder the run cannot write to anyway.
        accessSync(dirname(cacheFile), constants.W_OK);
        writeCache(cacheFile, { bundleSize: st.size, bundleMtimeMs: st.mtimeMs, node: process.version, flags, livedMs }, script.createCachedData());
      } catch {
        // No cache this time: the next run compiles again.
      }
    });
  }
  // What the bundle imports from outside itself (extensions' tasks) goes through this module's import().
  lendImport((url) => import(url));
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (e: unknown, r: NodeRequire, m: unknown, f: string, d: string) => void;
  run(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return module.exports;
}
