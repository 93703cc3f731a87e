/**
 * Reading a file named by the user (parameter files, config-itop.php, `.env`, the database CA file,
 * extension modules) without hanging or exhausting memory: a FIFO blocks open() until a writer comes,
 * and `/dev/zero` or `/dev/urandom` never end. Only regular files are read, and only up to a cap.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

/** The most any configuration-like file may hold: far above a real config-itop.php (~20 KB). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Why a path was refused; `code` is an errno code (ENOENT, EACCES, EISDIR...), ENOTREG, ETOOBIG or EUNTRUSTED. */
export class UnreadableFileError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreadableFileError';
    this.code = code;
  }
}

/** `not a regular file`, `larger than 4 MiB`, `is a directory`, `no such file`, who may write it, or the errno code. */
export function unreadableReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOTREG':
      return 'not a regular file';
    case 'ETOOBIG':
      return `larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB`;
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'EUNTRUSTED':
      // src/config/trust.ts: the message says who may write the file.
      return (e as Error).message;
    default:
      return typeof code === 'string' ? code : String(e);
  }
}

function checkStat(isFile: boolean, isDir: boolean, size: number, maxBytes: number): void {
  if (isDir) throw new UnreadableFileError('EISDIR', 'is a directory');
  if (!isFile) throw new UnreadableFileError('ENOTREG', 'not a regular file');
  if (size > maxBytes) throw new UnreadableFileError('ETOOBIG', 'file too large');
}

/**
 * The text of `file` (UTF-8), read only if it is a regular file of at most `maxBytes`.
 * O_NONBLOCK makes open() of a FIFO return at once, and fstat() on the opened descriptor then checks
 * the very file that will be read (no window between a stat and the open). A file that grows while it
 * is read (or reports no size, as in /proc) is still stopped at the cap.
 * @param onOpen called with the descriptor's stat before anything is read; may throw (src/config/trust.ts).
 * @throws UnreadableFileError (`ENOTREG`, `ETOOBIG`) or the errno error of open/read (ENOENT, EACCES...).
 */
export function readRegularFile(file: string, maxBytes = MAX_CONFIG_BYTES, onOpen?: (st: Stats) => void): string {
  // O_NONBLOCK is undefined on Windows, where a FIFO cannot be opened by path anyway.
  const fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
  try {
    const st = fstatSync(fd);
    checkStat(st.isFile(), st.isDirectory(), st.size, maxBytes);
    onOpen?.(st);
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      length += n;
      if (length > maxBytes) throw new UnreadableFileError('ETOOBIG', 'file too large');
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Throws unless `file` is a regular file of at most `maxBytes` (for files another component opens,
 * such as a module given to import()). stat() does not open the file, so a FIFO cannot block it.
 */
export function assertRegularFile(file: string, maxBytes = MAX_CONFIG_BYTES): void {
  const st = statSync(file);
  checkStat(st.isFile(), st.isDirectory(), st.size, maxBytes);
}
