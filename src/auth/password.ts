import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';

// bcryptjs and the native addon are loaded when a password is checked, not when the module is.
const require = createRequire(import.meta.url);

function text(v: Buffer | string | null): string {
  if (v === null) return '';
  return Buffer.isBuffer(v) ? v.toString('latin1') : v;
}

/** A bcrypt checker: `hash` in modular crypt form (`$2a$`, `$2b$`, `$2y$`). */
export type BcryptVerify = (password: string, hash: string) => Promise<boolean>;

type BcryptModule = { verify(password: string, hash: string): Promise<boolean> };

let nativeModule: BcryptModule | null | undefined;

/**
 * @node-rs/bcrypt (an optional dependency, prebuilt for the common platforms), or null where it is not
 * installed or cannot load. It checks a cost-10 hash in about 55 ms off the main thread, where bcryptjs
 * needs about 100 ms on the main thread for the first check of a process (JIT warm-up). Required through
 * createRequire: a native addon cannot be bundled.
 */
function nativeBcrypt(): BcryptModule | null {
  if (nativeModule === undefined) {
    try {
      nativeModule = require('@node-rs/bcrypt') as BcryptModule;
    } catch {
      nativeModule = null;
    }
  }
  return nativeModule;
}

/** The pure-JavaScript check (bcryptjs), used where the native one is not available. */
export const verifyBcryptJs: BcryptVerify = (password, hash) => {
  const bcrypt = require('bcryptjs') as { compare(p: string, h: string): Promise<boolean> };
  // bcryptjs knows `$2y$` (PHP's name for the same algorithm) as `$2b$`.
  return bcrypt.compare(password, hash.replace(/^\$2[xy]\$/, '$2b$'));
};

/** The native check, or undefined where @node-rs/bcrypt is not available. */
export function nativeBcryptVerify(): BcryptVerify | undefined {
  const native = nativeBcrypt();
  // A prefix it does not know (`$2x$`, the flawed 2011 variant) is left to bcryptjs.
  return native === null ? undefined : (password, hash) => native.verify(password, hash).catch(() => verifyBcryptJs(password, hash));
}

/**
 * Which bcrypt checks a password. `native` (@node-rs/bcrypt, where it is installed) starts fast but keeps
 * ~1.5 MiB more resident than bcryptjs: the cron runs use it (bcryptjs's cold ~100 ms were a third of a
 * `--status_only` run and a sixth of a 10 s run's CPU); `serve` and the subcommands keep bcryptjs
 * (bench/RESULTS.md).
 */
export type BcryptChoice = 'native' | 'js';

/** The bcrypt check for `choice`: bcryptjs when it is `js` or when the native one is not available. */
export function bcryptVerify(choice: BcryptChoice = 'js'): BcryptVerify {
  return (choice === 'native' ? nativeBcryptVerify() : undefined) ?? verifyBcryptJs;
}

/**
 * Checks a password against iTop's `priv_user_local` columns: a modern `password_hash()`
 * value (bcrypt `$2y$`), or the legacy hex(SHA-256(salt ‖ password)) of iTop ≤ 2.5.
 */
export async function verifyItopPassword(
  password: string,
  hash: Buffer | string | null,
  salt: Buffer | string | null,
  bcrypt: BcryptChoice = 'js',
): Promise<boolean> {
  const stored = text(hash).trim();
  if (/^\$2[abxy]\$\d\d\$/.test(stored)) {
    return bcryptVerify(bcrypt)(password, stored);
  }
  if (/^[0-9a-f]{64}$/i.test(stored)) {
    const saltBytes = salt === null ? Buffer.alloc(0) : Buffer.isBuffer(salt) ? salt : Buffer.from(salt, 'latin1');
    const computed = createHash('sha256').update(Buffer.concat([saltBytes, Buffer.from(password, 'utf8')])).digest();
    return timingSafeEqual(computed, Buffer.from(stored, 'hex'));
  }
  return false; // argon2 or an unknown format: cannot be verified here
}
