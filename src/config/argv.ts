/**
 * cron.php's command-line parameters: `--key=value` only, every entry scanned and the last
 * match winning, the command line over the parameter file(s) over the default, PHP truthiness for flags.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RunOptions } from './types.js';
import { readParamFiles } from './paramFile.js';
import { phpTrim, setOwn } from './php.js';
import { flagValue, readCliParam } from './cliParam.js';

export { phpTruthy, readCliParam } from './cliParam.js';

/**
 * A flag as `utils::ReadParam($name, false)` gives it: command line over file; a value the filter
 * rejects gives the default (false), even when the file had a valid one.
 */
function readFlag(argv: readonly string[], fileParams: Map<string, string>, name: string): boolean {
  return flagValue(readCliParam(argv, name) ?? fileParams.get(name));
}

/** Every `--key=value` of argv in order (key up to the first `=`); bare flags and positionals are skipped. */
function cliPairs(argv: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (const arg of argv) {
    const m = /^--([^=]+)=([^\n]*)\n?$/.exec(arg);
    if (m) pairs.push([m[1] ?? '', m[2] ?? '']);
  }
  return pairs;
}

/**
 * Merges the command line and the parameter file(s) into RunOptions. `param_file` itself is read from
 * the command line only. Without `--param_file`, `<cwd>/<defaultParamFile>` is read when it exists
 * (the documented itop-cron convention; cron.php has no default file) and silently skipped otherwise.
 * @throws CronError `EPARAMFILE` when a named parameter file is missing or unreadable.
 */
export function resolveRunOptions(
  argv: readonly string[],
  cwd: string,
  defaultParamFile = 'cron.params',
): RunOptions {
  const list = readCliParam(argv, 'param_file');
  let fileList = list;
  if (fileList === undefined) {
    const fallback = path.resolve(cwd, defaultParamFile);
    if (existsSync(fallback)) fileList = fallback;
  }
  const { files, params } =
    fileList === undefined ? { files: [], params: new Map<string, string>() } : readParamFiles(fileList, cwd);

  const raw: Record<string, string> = {};
  for (const [k, v] of params) setOwn(raw, k, v);
  for (const [k, v] of cliPairs(argv)) setOwn(raw, k, v);

  const mandatory = (name: string): string | undefined => {
    const v = readCliParam(argv, name) ?? params.get(name);
    return v === undefined ? undefined : phpTrim(v);
  };
  return {
    authUser: mandatory('auth_user'),
    authPwd: mandatory('auth_pwd'),
    verbose: readFlag(argv, params, 'verbose'),
    debug: readFlag(argv, params, 'debug'),
    statusOnly: readFlag(argv, params, 'status_only'),
    paramFiles: files,
    passwordOnCommandLine: argv.some((a) => a.startsWith('--auth_pwd=')),
    raw,
  };
}

/**
 * The last resort for credentials (ITOP_CRON_AUTH_USER / ITOP_CRON_AUTH_PWD, e.g. from a systemd
 * EnvironmentFile or .env), used only when neither the command line nor a parameter file gives them.
 * Call after loadConfig, which loads `.env`.
 */
export function withEnvCredentials(options: RunOptions, env: NodeJS.ProcessEnv): RunOptions {
  const user = options.authUser ?? env['ITOP_CRON_AUTH_USER'];
  const pwd = options.authPwd ?? env['ITOP_CRON_AUTH_PWD'];
  if (user === options.authUser && pwd === options.authPwd) return options;
  return { ...options, authUser: user === undefined ? undefined : phpTrim(user), authPwd: pwd === undefined ? undefined : phpTrim(pwd) };
}
