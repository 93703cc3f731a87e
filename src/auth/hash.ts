import bcrypt from 'bcryptjs';

/** A password hash PHP's password_verify() accepts: bcrypt with PHP's `$2y$` prefix. */
export async function hashItopPassword(password: string, cost = 10): Promise<string> {
  const hash = await bcrypt.hash(password, cost);
  return hash.replace(/^\$2[ab]\$/, '$2y$');
}
