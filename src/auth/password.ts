import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

function text(v: Buffer | string | null): string {
  if (v === null) return '';
  return Buffer.isBuffer(v) ? v.toString('latin1') : v;
}

/**
 * Checks a password against iTop's `priv_user_local` columns (spec §8.2): a modern `password_hash()`
 * value (bcrypt `$2y$`, the only modern algorithm Node can check without native code), or the legacy
 * hex(SHA-256(salt ‖ password)) of iTop ≤ 2.5.
 */
export async function verifyItopPassword(password: string, hash: Buffer | string | null, salt: Buffer | string | null): Promise<boolean> {
  const stored = text(hash).trim();
  if (/^\$2[abxy]\$\d\d\$/.test(stored)) {
    return bcrypt.compare(password, stored.replace(/^\$2[xy]\$/, '$2b$'));
  }
  if (/^[0-9a-f]{64}$/i.test(stored)) {
    const saltBytes = salt === null ? Buffer.alloc(0) : Buffer.isBuffer(salt) ? salt : Buffer.from(salt, 'latin1');
    const computed = createHash('sha256').update(Buffer.concat([saltBytes, Buffer.from(password, 'utf8')])).digest();
    return timingSafeEqual(computed, Buffer.from(stored, 'hex'));
  }
  return false; // argon2 or an unknown format: cannot be verified here
}
