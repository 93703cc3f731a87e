import { initOwnTables, initStandalone, ensureDatabase } from '../admin/init.js';
import { inspectDatabase, type ExistingTables } from '../admin/existingItop.js';
import { resolveRunOptions, withEnvCredentials } from '../config/argv.js';
import { loadDotEnvUnlessExplicit } from '../config/env.js';
import { loadConfig } from '../config/load.js';
import { openDb } from '../db/connect.js';
import { flagValue, readCliParam } from '../config/cliParam.js';
import type { Config } from '../config/types.js';
import type { Db } from '../db/types.js';
import { coerceError, CronError, EXIT_FATAL, EXIT_OK } from '../errors.js';
import { joinSpacedValues } from './argText.js';
import { checkArguments, CRON_PARAMS, OWN_PARAMS, type CommandIo } from './cronCommand.js';

const INIT_HELP = `Usage: itop-cron init [--param_file=<files>] [--config=<file>] [--itop_root=<dir>] [--existing_itop=1]

Creates the iTop tables itop-cron needs (with the table prefix db_subname) and an administrator whose
login and password are auth_user/auth_pwd (parameter file preferred), in the configured database, so
that itop-cron can be tried without an iTop installation. An existing user is kept.

A database that holds an installed iTop (its priv_module_install lists modules) is refused and left
untouched. With --existing_itop=1, init creates there only itop-cron's own tables (its run history):
no iTop table, no user.

Options: the cron command's (--auth_user, --auth_pwd, --param_file, --config, --itop_root, --log_level...);
itop-cron's own options also take the form --name value.
Exit codes: 0 done, 254 bad arguments or configuration (an installed iTop without --existing_itop=1), 255 database.
`;

const INIT_PARAMS = new Set<string>([...CRON_PARAMS, ...OWN_PARAMS, 'existing_itop']);

/**
 * An installed iTop: refused unless --existing_itop=1, and then only itop-cron's own tables. Its
 * tables and users belong to iTop's setup: a mistyped auth_user must not become a new administrator,
 * and a module's table (ticket_incident...) must not appear when the module is not installed.
 */
async function intoInstalledItop(config: Config, db: Db, found: ExistingTables, allowed: boolean, io: CommandIo): Promise<number> {
  const what = `database '${config.db.name}' (prefix '${config.db.prefix}') holds an installed iTop` +
    (found.modules === undefined ? ` (${found.present.length} iTop tables)` : ` (priv_module_install lists ${found.modules} modules)`);
  if (!allowed) {
    throw new CronError(
      'EITOPINSTALLED',
      `${what}: init creates tables and an administrator for a trial database only, so it changed nothing. ` +
        "To add only itop-cron's own tables there, run itop-cron init --existing_itop=1",
      EXIT_FATAL,
    );
  }
  const created = await initOwnTables(db);
  io.out.line(
    `The ${what}: ` +
      (created.length > 0 ? `created itop-cron's own table ${created.join(', ')}` : "itop-cron's own tables already exist") +
      '; no iTop table and no user were created.',
  );
  return EXIT_OK;
}

/**
 * `itop-cron init`: creates the iTop tables itop-cron needs (with the prefix) and an administrator whose
 * login and password are the usual auth_user/auth_pwd (parameter file preferred), in the configured
 * database, so that the product can be tried without an iTop installation.
 */
export async function initCommand(given: readonly string[], io: CommandIo): Promise<number> {
  const argv = joinSpacedValues(given, new Set<string>(OWN_PARAMS));
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out.raw(INIT_HELP);
    return EXIT_OK;
  }
  try {
    checkArguments(argv, INIT_PARAMS);
    const intoExisting = argv.includes('--existing_itop') || flagValue(readCliParam(argv, 'existing_itop'));
    loadDotEnvUnlessExplicit(argv, io.cwd, io.env);
    const parsed = resolveRunOptions(argv, io.cwd);
    const config = loadConfig({ raw: { ...parsed.raw }, env: io.env, cwd: io.cwd });
    const options = withEnvCredentials(parsed, io.env);
    if (options.authUser === undefined || options.authUser === '' || options.authPwd === undefined || options.authPwd === '') {
      throw new CronError('EARG', 'init needs auth_user and auth_pwd (in the parameter file, or --auth_user/--auth_pwd)', EXIT_FATAL);
    }
    await ensureDatabase(config);
    const db = openDb(config.db);
    try {
      const found = await inspectDatabase(db);
      if (found.installedItop) return await intoInstalledItop(config, db, found, intoExisting, io);
      const report = await initStandalone(config, db, { login: options.authUser, password: options.authPwd });
      io.out.line(
        `Initialised database '${report.database}' (prefix '${config.db.prefix}'): ${report.statements} statements applied; ` +
          (report.adminCreated ? `administrator '${options.authUser}' created.` : `user '${options.authUser}' already exists, kept.`),
      );
      return EXIT_OK;
    } finally {
      await db.close();
    }
  } catch (e) {
    const err = coerceError(e);
    io.out.line(`Error: ${err.message}`);
    return err instanceof CronError ? err.exitCode : EXIT_FATAL;
  }
}
