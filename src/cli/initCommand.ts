import { initStandalone, ensureDatabase } from '../admin/init.js';
import { resolveRunOptions, withEnvCredentials } from '../config/argv.js';
import { loadDotEnv } from '../config/env.js';
import { loadConfig } from '../config/load.js';
import { openDb } from '../db/connect.js';
import { coerceError, CronError, EXIT_FATAL, EXIT_OK } from '../errors.js';
import { joinSpacedValues } from './argText.js';
import { checkArguments, OWN_PARAMS, type CommandIo } from './cronCommand.js';

const INIT_HELP = `Usage: itop-cron init [--param_file=<files>] [--config=<file>] [--itop_root=<dir>]

Creates the iTop tables itop-cron needs (with the table prefix db_subname) and an administrator whose
login and password are auth_user/auth_pwd (parameter file preferred), in the configured database, so
that itop-cron can be tried without an iTop installation. An existing user is kept.

Options: the cron command's (--auth_user, --auth_pwd, --param_file, --config, --itop_root, --log_level...);
itop-cron's own options also take the form --name value.
Exit codes: 0 done, 254 bad arguments or configuration, 255 database.
`;

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
    checkArguments(argv);
    loadDotEnv(io.cwd, io.env);
    const parsed = resolveRunOptions(argv, io.cwd);
    const config = loadConfig({ raw: { ...parsed.raw }, env: io.env, cwd: io.cwd });
    const options = withEnvCredentials(parsed, io.env);
    if (options.authUser === undefined || options.authUser === '' || options.authPwd === undefined || options.authPwd === '') {
      throw new CronError('EARG', 'init needs auth_user and auth_pwd (in the parameter file, or --auth_user/--auth_pwd)', EXIT_FATAL);
    }
    await ensureDatabase(config);
    const db = openDb(config.db);
    try {
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
