/**
 * The few error kinds the runner tells apart, mirroring cron.php's exception classes and exit codes
 * (spec §1.7): PHP's exit(-1) is 255, exit(-2) is 254.
 */

export const EXIT_OK = 0;
export const EXIT_ERROR = 255;
export const EXIT_FATAL = 254;

/** An error that ends the command with a given exit code and a one-line message on stdout. */
export class CronError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CronError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** A bad configuration value: one line naming the key and its source, exit 254 (DESIGN.md). */
export class ConfigError extends CronError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EBADCONFIG', message, EXIT_FATAL, options);
    this.name = 'ConfigError';
  }
}

/** iTop's ProcessFatalException: reported as `ERROR : an exception was thrown ...`, and the loop goes on. */
export class ProcessFatalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProcessFatalError';
  }
}

/** iTop's ProcessInvalidConfigException (bad week_days/time...). */
export class ProcessInvalidConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProcessInvalidConfigError';
  }
}

/** iTop's MySQLHasGoneAwayException: the database connection was lost during a task. */
export class DbGoneAwayError extends Error {
  readonly errno: number;
  constructor(message: string, errno: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbGoneAwayError';
    this.errno = errno;
  }
}

/** Turns anything thrown into an Error, so callers can read `.message` safely. */
export function coerceError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(typeof e === 'string' ? e : JSON.stringify(e));
}
