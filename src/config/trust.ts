/**
 * Which files itop-cron may trust when it runs as root (issue 16 item 11): a `.env` or `cron.params` in
 * the working directory, a parameter file, config-itop.php, the database CA file, an extension module or
 * the mysqldump of `mysql_bindir` decides what code runs, so one that another user can write is a way to root. The rule is the one
 * sshd (StrictModes) and sudo apply to their files: as root, a file must be owned by root and writable by
 * root alone, and no directory above it may be writable by others without the sticky bit (whoever can
 * write there can put another file in its place). A run as any other user is not affected: it can only
 * do what that user could do anyway.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { MAX_CONFIG_BYTES, readRegularFile, UnreadableFileError } from './safeRead.js';

/** The part of a stat() result the rule reads. */
export interface OwnerMode {
  readonly uid: number;
  readonly mode: number;
}

/** The effective uid, or undefined where there is none (Windows). */
export function effectiveUid(): number | undefined {
  return typeof process.geteuid === 'function' ? process.geteuid() : undefined;
}

const mode = (m: number): string => `mode ${(m & 0o7777).toString(8).padStart(4, '0')}`;

/**
 * Why a process of effective uid `euid` must not trust a file with this owner and mode, or undefined
 * when it may. Only root (euid 0) refuses anything.
 */
export function untrustedFileReason(st: OwnerMode, euid: number | undefined): string | undefined {
  if (euid !== 0) return undefined;
  if (st.uid !== 0) return `owned by uid ${st.uid}, not by root`;
  if ((st.mode & 0o002) !== 0) return `writable by other users (${mode(st.mode)})`;
  if ((st.mode & 0o020) !== 0) return `writable by its group (${mode(st.mode)})`;
  return undefined;
}

/** Why root must not trust the files of a directory with this mode: others may replace them. */
export function untrustedDirReason(dir: string, st: OwnerMode, euid: number | undefined): string | undefined {
  if (euid !== 0) return undefined;
  if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) {
    return `in '${dir}', which other users can write to (${mode(st.mode)}, no sticky bit)`;
  }
  return undefined;
}

/** The suffix every refusal carries, so that the administrator knows why a readable file is refused. */
const AS_ROOT = 'refused when running as root';

/**
 * Throws UnreadableFileError `EUNTRUSTED` when root must not trust `file` (whose stat, taken on the
 * opened descriptor when there is one, is `st`). The directories checked are those of the path as
 * given and of the file's real path, from its own up to `/`.
 */
export function assertTrusted(file: string, st: OwnerMode, euid: number | undefined = effectiveUid()): void {
  if (euid !== 0) return;
  const own = untrustedFileReason(st, euid);
  if (own !== undefined) throw new UnreadableFileError('EUNTRUSTED', `${own}; ${AS_ROOT}`);
  // The directories of the path as given (a link there could be swapped) and of the real file.
  const starts = [path.dirname(path.resolve(file))];
  try {
    starts.push(path.dirname(realpathSync(file)));
  } catch {
    // gone meanwhile: the read or the import says so
  }
  const seen = new Set<string>();
  for (let dir of starts) {
    for (;;) {
      if (seen.has(dir)) break;
      seen.add(dir);
      let reason: string | undefined;
      try {
        reason = untrustedDirReason(dir, statSync(dir), euid);
      } catch {
        reason = undefined;
      }
      if (reason !== undefined) throw new UnreadableFileError('EUNTRUSTED', `${reason}; ${AS_ROOT}`);
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
}

/** assertTrusted for a file another component opens (an extension module given to import()). */
export function assertTrustedPath(file: string, euid: number | undefined = effectiveUid()): void {
  if (euid !== 0) return;
  assertTrusted(file, statSync(file), euid);
}

/**
 * readRegularFile, and when running as root only a file root may trust (checked on the opened
 * descriptor: the file checked is the file read).
 * @throws UnreadableFileError `EUNTRUSTED` besides readRegularFile's errors.
 */
export function readTrustedFile(file: string, maxBytes = MAX_CONFIG_BYTES, euid: number | undefined = effectiveUid()): string {
  return readRegularFile(file, maxBytes, (st) => assertTrusted(file, st, euid));
}
