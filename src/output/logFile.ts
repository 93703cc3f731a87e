/**
 * A log file that rotates itself (setting `itop_cron.log_rotate`): `daily` renames the file to
 * `<file>.<Y-m-d>` when the day (in iTop's zone) changes, `<N>MB` renames it to `<file>.1` (shifting
 * `.1` to `.2`...) when a write would pass N MB. At most `keep` rotated files are kept. Writes are
 * synchronous, as the logger's other destinations, so nothing is lost on exit.
 *
 * Several itop-cron processes may share the file (a run and the `Already running...` one). A rotation
 * is done by one process at a time, under the lock file `<file>.lock` (created exclusively; one older
 * than 10 s is a leftover of a killed process), and only when the file at the path is still the one
 * this process writes to: a process that finds the file already rotated by another just reopens it.
 * An error that remains (a rotated name taken by a directory...) is the destination's error, which
 * switches the log to stderr (safeDestination.ts).
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { settingInt, settingString } from '../config/php.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { formatLocalDate, localParts, localToEpoch } from '../time/zone.js';
import { openForAppend, writeAll } from './safeDestination.js';

/** A rotation lock older than this was left by a killed process. */
const STALE_LOCK_MS = 10_000;

export type RotationPolicy = { kind: 'daily' } | { kind: 'size'; maxBytes: number };

export interface RotatingFileOptions {
  readonly policy: RotationPolicy;
  /** Rotated files kept (default 7). */
  readonly keep?: number;
  /** Zone of the daily boundary and of the date suffix (default UTC). */
  readonly timezone?: string;
  /** Epoch ms now (tests). */
  readonly now?: () => number;
}

/**
 * `daily` or `<N>MB` (also `KB`, `GB`, case-insensitive); '' means no rotation (undefined).
 * @throws ConfigError on anything else.
 */
export function parseRotation(value: string): RotationPolicy | undefined {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'none' || v === '0') return undefined;
  if (v === 'daily') return { kind: 'daily' };
  const m = /^(\d+(?:\.\d+)?)\s*(k|m|g)b?$/.exec(v);
  const factor = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  if (m !== null && Number(m[1]) > 0) return { kind: 'size', maxBytes: Math.floor(Number(m[1]) * factor[m[2] as keyof typeof factor]) };
  throw new ConfigError(`Invalid value for 'itop_cron.log_rotate': '${value}' (expected daily or a size such as 10MB)`);
}

/**
 * The rotation of the log file from the settings `itop_cron.log_rotate` and `itop_cron.log_rotate_keep`
 * (default 7), in iTop's zone; undefined when the log goes to stderr or rotation is not configured.
 * @throws ConfigError on a malformed value.
 */
export function rotationFromConfig(config: Config): RotatingFileOptions | undefined {
  if (config.log.destination === 'stderr') return undefined;
  const policy = parseRotation(settingString(config.settings, 'itop_cron.log_rotate', ''));
  if (policy === undefined) return undefined;
  const keep = settingInt(config.settings, 'itop_cron.log_rotate_keep', 7);
  if (keep < 1) throw new ConfigError(`Invalid value for 'itop_cron.log_rotate_keep': '${keep}' (expected an integer >= 1)`);
  return { policy, keep, timezone: config.timezone };
}

/** The start of the next day in `tz`, epoch ms. */
function nextMidnight(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  return localToEpoch(p.year, p.month, p.day + 1, 0, 0, 0, tz);
}

/** A pino destination (any object with write(string)) writing to a rotating file. */
export class RotatingFile {
  private readonly path: string;
  private readonly policy: RotationPolicy;
  private readonly keep: number;
  private readonly tz: string;
  private readonly now: () => number;
  private fd = -1;
  private size = 0;
  /** Daily: when the current file's day ends. */
  private dayEnd = 0;
  /** Daily: the day the current file holds. */
  private day = '';

  constructor(path: string, opts: RotatingFileOptions) {
    this.path = path;
    this.policy = opts.policy;
    this.keep = Math.max(1, opts.keep ?? 7);
    this.tz = opts.timezone ?? 'UTC';
    this.now = opts.now ?? Date.now;
    mkdirSync(dirname(path), { recursive: true });
    this.open();
  }

  private open(): void {
    // A file left by an earlier day is rotated as it is opened: short-lived processes rotate here.
    if (this.policy.kind === 'daily' && this.staleDay() !== undefined) {
      this.locked(() => {
        const fileDay = this.staleDay(); // again under the lock: another process may have done it
        if (fileDay !== undefined) this.rotateTo(`${this.path}.${fileDay}`);
      });
    }
    this.fd = openForAppend(this.path);
    this.size = fstatSync(this.fd).size;
    const now = this.now();
    this.day = formatLocalDate(now, this.tz);
    this.dayEnd = nextMidnight(now, this.tz);
  }

  /** Daily: the day of a non-empty file at the path last written before today; else undefined. */
  private staleDay(): string | undefined {
    const st = statSync(this.path, { throwIfNoEntry: false });
    if (st === undefined || st.size === 0) return undefined;
    const fileDay = formatLocalDate(st.mtimeMs, this.tz);
    return fileDay === formatLocalDate(this.now(), this.tz) ? undefined : fileDay;
  }

  /** Whether writing `len` more bytes calls for a rotation; the size is the file's (other processes append too). */
  private due(len: number): boolean {
    if (this.policy.kind === 'daily') return this.now() >= this.dayEnd;
    this.size = fstatSync(this.fd).size;
    return this.size > 0 && this.size + len > this.policy.maxBytes;
  }

  /** True while the path still names the file this process has open (not rotated away by another). */
  private stillOurs(): boolean {
    const open = fstatSync(this.fd);
    const atPath = statSync(this.path, { throwIfNoEntry: false });
    return atPath !== undefined && atPath.ino === open.ino && atPath.dev === open.dev;
  }

  /**
   * Runs `fn` holding `<file>.lock`; when another process holds it, does nothing (the caller writes on
   * and tries again at its next line).
   */
  private locked(fn: () => void): void {
    const lock = `${this.path}.lock`;
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = statSync(lock, { throwIfNoEntry: false });
      if (st === undefined || this.now() - st.mtimeMs < STALE_LOCK_MS) return;
      unlinkSync(lock); // left by a killed process
      try {
        fd = openSync(lock, 'wx');
      } catch {
        return; // taken by another in between
      }
    }
    try {
      fn();
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true }); // force: taken as stale and removed by another meanwhile
    }
  }

  write(chunk: string): boolean {
    const len = Buffer.byteLength(chunk);
    if (this.due(len)) this.rotate(len);
    writeAll(this.fd, chunk);
    this.size += len;
    return true;
  }

  /** Nothing is buffered; here for pino's flush(). */
  flush(cb?: (err?: Error) => void): void {
    cb?.();
  }

  flushSync(): void {}

  end(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Rotates unless another process did (or is doing) it, then writes on to the file at the path. */
  private rotate(len: number): void {
    if (this.stillOurs()) {
      this.locked(() => {
        if (!this.stillOurs() || !this.due(len)) return;
        closeSync(this.fd);
        this.fd = -1;
        if (this.policy.kind === 'daily') this.rotateTo(`${this.path}.${this.day}`);
        else this.shiftNumbered();
      });
    }
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.open();
  }

  /** Renames the file to `target` (appending a counter if taken), then drops the oldest dated files. */
  private rotateTo(target: string): void {
    let dest = target;
    for (let i = 1; existsSync(dest); i++) dest = `${target}.${i}`;
    renameSync(this.path, dest);
    const prefix = `${basename(this.path)}.`;
    const dated = readdirSync(dirname(this.path))
      .filter((f) => f.startsWith(prefix) && /^\d{4}-\d{2}-\d{2}/.test(f.slice(prefix.length)))
      .sort();
    for (const old of dated.slice(0, Math.max(0, dated.length - this.keep))) unlinkSync(join(dirname(this.path), old));
  }

  /** `.keep` is dropped, `.n` becomes `.n+1`, the file becomes `.1`. */
  private shiftNumbered(): void {
    const numbered = (n: number): string => `${this.path}.${n}`;
    if (existsSync(numbered(this.keep))) unlinkSync(numbered(this.keep));
    for (let n = this.keep - 1; n >= 1; n--) if (existsSync(numbered(n))) renameSync(numbered(n), numbered(n + 1));
    renameSync(this.path, numbered(1));
  }
}
