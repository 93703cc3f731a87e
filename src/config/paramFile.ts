/**
 * cron.php's parameter files, parsed exactly as iTop parses them, quirks included: a `#`
 * anywhere truncates the line, the key is greedy up to the last `=` of its first token, quotes are
 * kept. Administrators' existing `cron.params` files must mean the same thing here as with PHP.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { CronError, EXIT_FATAL } from '../errors.js';
import { phpTrim } from './php.js';
import { unreadableReason } from './safeRead.js';
import { readTrustedFile } from './trust.js';

/**
 * `^(\S*)\s*=(.*)$` with PCRE's default (ASCII, non-UTF) classes: JavaScript's `\s` would also match
 * Unicode spaces, and its `.` would stop at `\r`, which PCRE's does not.
 */
const LINE = /^([^ \t\n\v\f\r]*)[ \t\n\v\f\r]*=([^\n]*)$/;

/** Parses the text of one parameter file into key → value (last duplicate wins). */
export function parseParamFile(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const rawLine of text.split('\n')) {
    let line = phpTrim(rawLine);
    const hash = line.indexOf('#');
    if (hash >= 0) line = phpTrim(line.slice(0, hash));
    const m = LINE.exec(line);
    if (m) params.set(m[1] ?? '', phpTrim(m[2] ?? ''));
  }
  return params;
}

/** PHP's `htmlentities` for the characters a path can hold that it always escapes (ENT_QUOTES). */
const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#039;' };

/** Escapes a path for cron.php's error messages, as PHP's `htmlentities` does for `& < > " '`. */
export function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}

/**
 * Resolves a parameter-file path against the working directory. A Windows path (`C:\x`, `C:/x`,
 * `\\server\share`) counts as absolute on every OS, so that a file written for Windows is not silently
 * looked up under the current directory.
 */
export function resolveParamPath(file: string, cwd: string): string {
  if (path.isAbsolute(file) || path.win32.isAbsolute(file)) return file;
  return path.resolve(cwd, file);
}

/** What `readParamFiles` read: the files (absolute, in order) and their merged parameters. */
export interface ParamFiles {
  readonly files: string[];
  readonly params: Map<string, string>;
}

/**
 * Reads cron.php's `param_file` list: comma-separated, entries trimmed, empty entries skipped, paths
 * relative to `cwd`, a later file overriding the keys of an earlier one.
 * @throws CronError `EPARAMFILE` (exit 254) `Could not find the parameter file: '<path>'` or
 *   `Could not load parameter file: '<path>'`, the path as given and HTML-escaped; the CLI prints
 *   `Error: <message>` as cron.php does.
 */
export function readParamFiles(list: string, cwd: string): ParamFiles {
  const files: string[] = [];
  const params = new Map<string, string>();
  for (const entry of list.split(',')) {
    const given = phpTrim(entry);
    if (given === '') continue;
    const file = resolveParamPath(given, cwd);
    if (!existsSync(file)) throw paramFileError(`Could not find the parameter file: '${htmlEscape(given)}'`);
    let text: string;
    try {
      text = readTrustedFile(file);
    } catch (e) {
      // cron.php's message; a FIFO, a device or a huge file also says why (cron.php would hang or run out of
      // memory), and so does a file root must not trust (src/config/trust.ts).
      const code = (e as { code?: unknown }).code;
      const why = code === 'ENOTREG' || code === 'ETOOBIG' || code === 'EUNTRUSTED' ? ` (${unreadableReason(e)})` : '';
      throw paramFileError(`Could not load parameter file: '${htmlEscape(given)}'${why}`, e);
    }
    for (const [k, v] of parseParamFile(text)) params.set(k, v);
    files.push(file);
  }
  return { files, params };
}

function paramFileError(message: string, cause?: unknown): CronError {
  return new CronError('EPARAMFILE', message, EXIT_FATAL, cause === undefined ? undefined : { cause });
}

/**
 * True when others may read the file (mode & 0o004), so the CLI can warn that the password in it is
 * exposed. Always false on Windows, where POSIX modes mean nothing, and when the file cannot be stat'ed.
 */
export function paramFileIsWorldReadable(file: string): boolean {
  if (process.platform === 'win32') return false;
  try {
    return (statSync(file).mode & 0o004) !== 0;
  } catch {
    return false;
  }
}
