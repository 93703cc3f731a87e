/**
 * The password check against hashes made by PHP: the native bcrypt (@node-rs/bcrypt) and the
 * pure-JavaScript fallback (bcryptjs) must agree with PHP's password_verify on every case, since which
 * one runs depends on the platform.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { bcryptVerify, nativeBcryptVerify, verifyBcryptJs, verifyItopPassword, type BcryptVerify } from '../src/auth/password.js';
import { referenceDir } from './helpers/reference.js';

/** The administrator of the real fresh install: PHP's password_hash('Admin.123456'), cost 10. */
function phpAdminHash(): string | undefined {
  const dir = referenceDir();
  if (dir === undefined) return undefined;
  const dump = readFileSync(join(dir, 'fresh-install.sql'), 'utf8');
  return /INSERT INTO `priv_user_local` VALUES\s*\(1,'(\$2y\$10\$[./A-Za-z0-9]{53})'/.exec(dump)?.[1];
}

const IMPLEMENTATIONS: Array<[string, BcryptVerify | undefined]> = [
  ['native', nativeBcryptVerify()],
  ['bcryptjs', verifyBcryptJs],
];

for (const [name, verify] of IMPLEMENTATIONS) {
  test(`${name} bcrypt: PHP's $2y$ hash of the real iTop administrator`, { skip: verify === undefined ? 'not available here' : false }, async (t) => {
    const hash = phpAdminHash();
    if (hash === undefined) return t.skip('no reference dump');
    assert.equal(await verify!('Admin.123456', hash), true);
    assert.equal(await verify!('Admin.1234567', hash), false);
    assert.equal(await verify!('admin.123456', hash), false);
  });

  test(`${name} bcrypt: UTF-8 passwords, the 72-byte limit and the $2y$/$2b$ prefixes`, { skip: verify === undefined ? 'not available here' : false }, async () => {
    const cases = ['x', 'é ünïcødé 日本 🙂', 'a'.repeat(72), `${'b'.repeat(72)}ignored`];
    for (const password of cases) {
      const b = bcrypt.hashSync(password, 4);
      const y = b.replace(/^\$2b\$/, '$2y$');
      assert.equal(await verify!(password, b), true, `${password.slice(0, 10)} ($2b$)`);
      assert.equal(await verify!(password, y), true, `${password.slice(0, 10)} ($2y$)`);
      assert.equal(await verify!(`${password.slice(0, -1)}?`, y), password.length > 72, 'a change within the first 72 bytes');
    }
    // PHP truncates at 72 bytes as well: what follows never counts.
    const long = bcrypt.hashSync('c'.repeat(72), 4).replace(/^\$2b\$/, '$2y$');
    assert.equal(await verify!(`${'c'.repeat(72)}anything`, long), true);
  });
}

test('the native bcrypt serves the cron runs where its prebuilt binary exists (Linux x64); bcryptjs otherwise', { skip: process.platform !== 'linux' || process.arch !== 'x64' }, () => {
  assert.notEqual(nativeBcryptVerify(), undefined, '@node-rs/bcrypt did not load: npm ci should install it');
  assert.notEqual(bcryptVerify('native'), verifyBcryptJs);
  assert.equal(bcryptVerify('js'), verifyBcryptJs);
  assert.equal(bcryptVerify(), verifyBcryptJs, 'serve and the subcommands keep the lighter bcryptjs');
});

test('verifyItopPassword: bcrypt, the legacy salted SHA-256 of iTop ≤ 2.5, and unknown formats', async () => {
  const hash = bcrypt.hashSync('S3cret!', 4).replace(/^\$2b\$/, '$2y$');
  assert.equal(await verifyItopPassword('S3cret!', Buffer.from(hash, 'latin1'), ''), true);
  assert.equal(await verifyItopPassword('S3cret!', hash, '', 'native'), true);
  assert.equal(await verifyItopPassword('S3cret?', hash, '', 'native'), false);
  assert.equal(await verifyItopPassword('S3cret?', hash, ''), false);
  const { createHash } = await import('node:crypto');
  const legacy = createHash('sha256').update('saltS3cret!').digest('hex');
  assert.equal(await verifyItopPassword('S3cret!', legacy, 'salt'), true);
  assert.equal(await verifyItopPassword('S3cret!', legacy, 'other'), false);
  assert.equal(await verifyItopPassword('S3cret!', '$argon2id$v=19$m=65536,t=4,p=1$abc$def', null), false);
  assert.equal(await verifyItopPassword('S3cret!', null, null), false);
});
