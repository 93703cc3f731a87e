import type { Db } from './types.js';

/** What authentication needs to know about an enabled iTop user. */
export interface UserCredentialsRow {
  id: number;
  finalclass: string;
  password_hash: Buffer | string | null;
  password_salt: Buffer | string | null;
}

/**
 * The enabled user with this login, internal users first (UserLocal, UserLDAP), then external ones, as
 * iTop's `any` mode. Matching follows the column collation (case- and accent-insensitive), as in iTop.
 */
export async function findEnabledUser(db: Db, login: string): Promise<UserCredentialsRow | undefined> {
  const internal = await db.query<UserCredentialsRow>(
    `SELECT u.id, u.finalclass, ul.password_hash, ul.password_salt FROM ${db.table('priv_user')} AS u ` +
      `JOIN ${db.table('priv_internaluser')} AS ui ON ui.id = u.id ` +
      `LEFT JOIN ${db.table('priv_user_local')} AS ul ON ul.id = u.id ` +
      "WHERE u.login = ? AND u.status = 'enabled' ORDER BY u.id LIMIT 1",
    [login],
  );
  if (internal[0] !== undefined) return internal[0];
  const external = await db.query<UserCredentialsRow>(
    `SELECT u.id, u.finalclass, NULL AS password_hash, NULL AS password_salt FROM ${db.table('priv_user')} AS u ` +
      "WHERE u.login = ? AND u.status = 'enabled' AND u.finalclass = 'UserExternal' ORDER BY u.id LIMIT 1",
    [login],
  );
  return external[0];
}

/** True when the user holds the profile named exactly `Administrator` (by name, not by id:). */
export async function hasAdministratorProfile(db: Db, userId: number): Promise<boolean> {
  const rows = await db.query<{ name: string }>(
    `SELECT p.name FROM ${db.table('priv_urp_userprofile')} AS up ` +
      `JOIN ${db.table('priv_urp_profiles')} AS p ON p.id = up.profileid WHERE up.userid = ?`,
    [userId],
  );
  return rows.some((r) => r.name === 'Administrator');
}

/** A new UserLocal row set (priv_user + priv_internaluser + priv_user_local, same id:). */
export interface NewLocalUser {
  login: string;
  /** A `password_hash()`-compatible hash (bcrypt `$2y$`). */
  passwordHash: string;
  /** Link the user to the `Administrator` profile. */
  administrator: boolean;
  status?: 'enabled' | 'disabled';
}

/** Writes a local iTop user as iTop stores it; returns its id. */
export async function createLocalUser(db: Db, user: NewLocalUser): Promise<number> {
  return db.transaction(async (tx) => {
    const res = await tx.execute(
      `INSERT INTO ${db.table('priv_user')} (contactid, login, language, status, finalclass) VALUES (0, ?, 'EN US', ?, 'UserLocal')`,
      [user.login, user.status ?? 'enabled'],
    );
    const id = res.insertId;
    await tx.execute(`INSERT INTO ${db.table('priv_internaluser')} (id, finalclass) VALUES (?, 'UserLocal')`, [id]);
    await tx.execute(
      `INSERT INTO ${db.table('priv_user_local')} (id, password_hash, password_salt, expiration) VALUES (?, ?, '', 'never_expire')`,
      [id, user.passwordHash],
    );
    if (user.administrator) {
      await tx.execute(
        `INSERT INTO ${db.table('priv_urp_userprofile')} (userid, profileid, description) ` +
          `SELECT ?, id, '' FROM ${db.table('priv_urp_profiles')} WHERE name = 'Administrator' LIMIT 1`,
        [id],
      );
    }
    return id;
  });
}
