/**
 * The log must never stop the cron (issue 16 item 2): a log file on a full disk, a `log_file` that is a
 * directory, a rotation that cannot rename... Any error of the destination, when it is opened or on a
 * write, switches the log to stderr for the rest of the process, with one line saying why; the tasks
 * go on and the exit code does not change. When stderr itself fails (closed, EPIPE), lines are dropped.
 */
import { closeSync, constants, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** What a destination offers: synchronous writes of whole lines. */
export interface LogSink {
  write(chunk: string): unknown;
  end?(): void;
}

const sleepMs = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Writes all of `chunk` to `fd` synchronously (a write may be partial). EAGAIN (a non-blocking pipe
 * that is full) is retried for about a second, as pino's own stderr destination does, then thrown.
 */
export function writeAll(fd: number, chunk: string): void {
  let buf = Buffer.from(chunk, 'utf8');
  let waited = 0;
  while (buf.length > 0) {
    try {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || waited >= 1000) throw e;
      sleepMs(10);
      waited += 10;
    }
  }
}

/** stderr; an error there (closed descriptor, reader gone) drops the line: there is nowhere else to say it. */
export const stderrSink = {
  write(chunk: string): boolean {
    try {
      writeAll(2, chunk);
    } catch {
      // nowhere left to write
    }
    return true;
  },
  flush(cb?: (err?: Error) => void): void {
    cb?.();
  },
  flushSync(): void {},
};

/**
 * Opens `path` for appending, created if need be. Non-blocking, so that a FIFO without a reader fails
 * at once (ENXIO, then stderr) instead of blocking the start forever; a regular file is not affected.
 */
export function openForAppend(path: string): number {
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NONBLOCK ?? 0);
  return process.platform === 'win32' ? openSync(path, 'a') : openSync(path, flags, 0o666);
}

/** A file opened for appending (created with its directory if need be). */
export class AppendFile implements LogSink {
  private fd: number;
  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openForAppend(path);
  }
  write(chunk: string): void {
    writeAll(this.fd, chunk);
  }
  end(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** The notice written once to stderr, as a log line of its own (stderr lines are JSON too). */
function notice(what: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code ?? err.message ?? String(e);
  const msg = `cannot write the log to ${what} (${reason}): logging to stderr from now on`;
  return `${JSON.stringify({ level: 50, time: Date.now(), pid: process.pid, name: 'itop-cron', msg })}\n`;
}

/**
 * A pino destination that opens `open()` on the first line and falls back to stderr, for good, at the
 * first error of that destination. A line that failed is written to stderr whole (the file may keep a
 * partial copy of it).
 */
export class FallbackDestination {
  private sink: LogSink | undefined;
  private failed = false;

  constructor(
    private readonly open: () => LogSink,
    /** The destination, for the notice: `'/var/log/itop-cron.log'`. */
    private readonly what: string,
    /** Where lines go after a failure (stderr; as text on a terminal: prettyLog.ts). */
    private readonly fallback: LogSink = stderrSink,
  ) {}

  write(chunk: string): boolean {
    if (!this.failed) {
      try {
        this.sink ??= this.open();
        this.sink.write(chunk);
        return true;
      } catch (e) {
        this.failed = true;
        try {
          this.sink?.end?.();
        } catch {
          // the descriptor is unusable anyway
        }
        this.sink = undefined;
        this.fallback.write(notice(this.what, e));
      }
    }
    this.fallback.write(chunk);
    return true;
  }

  /** Nothing is buffered; here for pino's flush(). */
  flush(cb?: (err?: Error) => void): void {
    cb?.();
  }

  flushSync(): void {}

  end(): void {
    try {
      this.sink?.end?.();
    } catch {
      // closing is best effort
    }
    this.sink = undefined;
  }
}
