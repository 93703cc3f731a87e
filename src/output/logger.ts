import { createRequire } from 'node:module';
import type { Logger, pino as pinoFactory } from 'pino';
import type { LogSettings } from '../config/types.js';
import { RotatingFile, type RotatingFileOptions } from './logFile.js';
import { stderrDestination } from './prettyLog.js';
import { AppendFile, FallbackDestination } from './safeDestination.js';

/**
 * Keys whose values never reach a log line, wherever they sit in a logged object. pino's redaction works on paths, so list the usual depths.
 */
const SECRET_KEYS = ['password', 'pwd', 'auth_pwd', 'db_pwd', 'authPwd', 'pass', 'secret', 'authorization'];
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/**
 * pino, loaded on first use. Loading it (with sonic-boom, its serializers and redaction) is a tenth of a
 * `--status_only` run, which usually logs nothing (bench/RESULTS.md); pino is CommonJS, so a synchronous
 * require keeps the log methods synchronous.
 */
let pinoModule: typeof pinoFactory | undefined;
function loadPino(): typeof pinoFactory {
  pinoModule ??= (createRequire(import.meta.url)('pino') as { pino: typeof pinoFactory }).pino;
  return pinoModule;
}

/**
 * The structured log: JSON lines to stderr or to a file, never to stdout (stdout belongs to cron.php's
 * text); on a terminal, stderr gets them as text (prettyLog.ts). Synchronous writes so that nothing is
 * lost when the process exits on a signal or an error.
 * `rotation` (src/output/logFile.ts rotationFromConfig) makes a file destination rotate by day or size.
 *
 * The logger is built on its first use: a run that logs nothing never loads pino nor opens the log file.
 */
export function createLogger(settings: LogSettings, extraSecrets: readonly string[] = [], rotation?: RotatingFileOptions): Logger {
  let real: Logger | undefined;
  const build = (): Logger => (real ??= buildLogger(settings, extraSecrets, rotation));
  return new Proxy({} as Logger, {
    get(_target, prop) {
      // Nothing was written, so there is nothing to flush: do not build a logger for that.
      if (real === undefined && prop === 'flush') return () => undefined;
      const logger = build();
      const value: unknown = Reflect.get(logger, prop, logger);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(logger) : value;
    },
    set(_target, prop, value) {
      return Reflect.set(build(), prop, value);
    },
    has(_target, prop) {
      return Reflect.has(build(), prop);
    },
  });
}

function buildLogger(settings: LogSettings, extraSecrets: readonly string[], rotation: RotatingFileOptions | undefined): Logger {
  const pino = loadPino();
  // A file that cannot be opened or written switches the log to stderr (safeDestination.ts): never a crash.
  const file = settings.destination;
  const toStderr = stderrDestination();
  const destination =
    file === 'stderr'
      ? toStderr
      : new FallbackDestination(() => (rotation !== undefined ? new RotatingFile(file, rotation) : new AppendFile(file)), `'${file}'`, toStderr);
  return pino(
    {
      name: 'itop-cron',
      level: settings.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        // Values (not only keys) are scrubbed too: a password could sit inside an error message.
        logMethod(args, method) {
          method.apply(this, scrub(args, extraSecrets) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

/** Replaces every occurrence of each secret in string arguments and error messages by `[redacted]`. */
export function scrub<T>(value: T, secrets: readonly string[]): T {
  const live = secrets.filter((s) => s.length >= 3);
  if (live.length === 0) return value;
  const clean = (s: string): string => live.reduce((acc, secret) => acc.split(secret).join('[redacted]'), s);
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return clean(v);
    if (depth > 4 || v === null || typeof v !== 'object') return v;
    if (v instanceof Error) {
      const e = new Error(clean(v.message));
      e.name = v.name;
      e.stack = v.stack === undefined ? undefined : clean(v.stack);
      return e;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, depth + 1)]));
  };
  return walk(value, 0) as T;
}

/** A logger that discards everything (library callers that do not care). */
export function silentLogger(): Logger {
  return loadPino()({ level: 'silent' });
}
