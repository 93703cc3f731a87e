import { setTimeout as delay } from 'node:timers/promises';
import { hasAdministratorProfile, findEnabledUser } from '../db/users.js';
import type { Db } from '../db/types.js';
import { CronError, EXIT_ERROR } from '../errors.js';
import { verifyItopPassword, type BcryptChoice } from './password.js';

/** The authenticated cron user. */
export interface CronUser {
  readonly id: number;
  readonly login: string;
}

/** Failed logins wait this long before answering, so that guessing is slow (cron.php's bootstrap takes ~1 s). */
export const DEFAULT_FAILURE_DELAY_MS = 1000;

/**
 * cron.php's authentication and administrator check, with its exact messages and exit
 * codes. Deliberate difference: external and LDAP accounts are refused (cron.php accepts an external
 * account with any password; an LDAP bind is not available here).
 */
export async function authenticate(
  db: Db,
  login: string,
  password: string,
  failureDelayMs = DEFAULT_FAILURE_DELAY_MS,
  bcrypt: BcryptChoice = 'js',
): Promise<CronUser> {
  const user = await findEnabledUser(db, login);
  const refuse = async (message: string, code = 'EAUTH'): Promise<never> => {
    if (failureDelayMs > 0) await delay(failureDelayMs);
    throw new CronError(code, message, EXIT_ERROR);
  };
  if (user === undefined) return refuse(`Access wrong credentials ('${login}')`);
  if (user.finalclass === 'UserExternal' || user.finalclass === 'UserLDAP') {
    return refuse(
      `Access refused: '${login}' is a ${user.finalclass} account; itop-cron needs a local iTop account (UserLocal)`,
      'EAUTHKIND',
    );
  }
  if (!(await verifyItopPassword(password, user.password_hash, user.password_salt, bcrypt))) {
    return refuse(`Access wrong credentials ('${login}')`);
  }
  if (!(await hasAdministratorProfile(db, user.id))) {
    throw new CronError('ENOTADMIN', 'Access restricted to administrators', EXIT_ERROR);
  }
  return { id: user.id, login };
}
