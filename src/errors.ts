/**
 * The few error kinds the runner tells apart, mirroring cron.php's exception classes and exit codes: PHP's exit(-1) is 255, exit(-2) is 254.
 */

export const EXIT_OK = 0;
export const EXIT_ERROR = 255;
export const EXIT_FATAL = 254;

/** The brand of an error class: one symbol per class name, shared by every copy of this module. */
function brandOf(cls: { readonly name: string }): symbol {
  return Symbol.for(`itop-cron.${cls.name}`);
}

/**
 * The base of the error kinds the runner tells apart, whose `instanceof` goes by a brand instead of class
 * identity: the command line runs from its bundle (dist/run/) while an extension imports these classes
 * from dist/ (or from a copy of itop-cron of its own), which are other class objects. Each instance carries
 * the brand of its class and of every parent class.
 */
export abstract class BrandedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    for (let c: unknown = new.target; typeof c === 'function' && c !== BrandedError; c = Object.getPrototypeOf(c)) {
      Object.defineProperty(this, brandOf(c), { value: true });
    }
  }

  static override [Symbol.hasInstance](this: { readonly name: string }, value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brandOf(this)] === true;
  }
}

/** An error that ends the command with a given exit code and a one-line message on stdout. */
export class CronError extends BrandedError {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CronError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** A bad configuration value: one line naming the key and its source, exit 254. */
export class ConfigError extends CronError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EBADCONFIG', message, EXIT_FATAL, options);
    this.name = 'ConfigError';
  }
}

/** iTop's ProcessFatalException: reported as `ERROR : an exception was thrown ...`, and the loop goes on. */
export class ProcessFatalError extends BrandedError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProcessFatalError';
  }
}

/** iTop's ProcessInvalidConfigException (bad week_days/time...). */
export class ProcessInvalidConfigError extends BrandedError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProcessInvalidConfigError';
  }
}

/** iTop's MySQLHasGoneAwayException: the database connection was lost during a task. */
export class DbGoneAwayError extends BrandedError {
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
