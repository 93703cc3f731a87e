/**
 * The text of `itop-cron --help` and the built-in subcommands' names and summaries, in a module that
 * imports nothing: `--help` is printed from it alone (src/cli/quick.ts), in the time of a bare `node`
 * start (bench/RESULTS.md, startup); main.ts adds the code that runs each subcommand.
 */

export const BUILT_IN_COMMANDS = [
  { name: 'demo', summary: 'try itop-cron on a private, throwaway MariaDB and iTop database (no server or configuration needed)' },
  { name: 'init', summary: 'create the iTop tables itop-cron needs and an administrator (standalone trial database)' },
  { name: 'serve', summary: 'web mode: serve the cron page (GET /webservices/cron.php, HTTP Basic auth of an administrator)' },
  { name: 'status', summary: 'health check: tasks, lateness, lock, queues (--json; exit 1 when unhealthy)' },
  { name: 'task', summary: 'list, pause, resume, run or reschedule a background task' },
  { name: 'history', summary: 'the latest task runs (start, outcome, duration, message)' },
] as const;

export type BuiltInCommand = (typeof BUILT_IN_COMMANDS)[number]['name'];

const CRON_HELP = `
Runs iTop's background tasks, as php webservices/cron.php does (same arguments, output, exit codes, lock).

Arguments (cron.php's, in --name=value form; the last occurrence wins; the command line wins over files):
  --auth_user=<login>     iTop administrator login (mandatory)
  --auth_pwd=<password>   its password (mandatory; prefer a parameter file: the command line is visible to others)
  --param_file=<files>    comma-separated parameter files (key=value lines, # comments); default ./cron.params
  --verbose=1             print cron.php's verbose trace
  --debug=1               add stack traces to errors
  --status_only=1         print the task table and exit

Options of itop-cron (same form, never used by cron.php):
  --config=<file>         iTop's config-itop.php (or env ITOP_CONFIG)
  --itop_root=<dir>       the iTop root directory (or env ITOP_ROOT)
  --log_file=<file>       structured log file (default: stderr, as text on a terminal; env ITOP_CRON_LOG)
  --log_level=<level>     fatal, error, warn, info (default: a line per run), debug (a line per task), trace, silent
  --mysql_bindir=<dir>    where mysqldump is, for backups (default: the PATH)
  --php_bin=<file>        the PHP that runs iTop's own tasks (default: php on the PATH; env ITOP_CRON_PHP_BIN)
  --task_grace_seconds=N  time a task gets past its limit before it is aborted (default 30)
  --metrics_port=<port>   serve Prometheus metrics on 127.0.0.1:<port>/metrics while the cron runs
  --ping_url=<url>        dead man's switch: <url>/start, <url> or <url>/fail at each run (Healthchecks.io style)

Exit codes: 0 normal end, status shown, already running, maintenance ongoing; 255 wrong credentials, not an
administrator, read-only or maintenance flag during the run, database unreachable; 254 missing or bad
arguments, bad parameter file or configuration, database gone away during a task.

Examples:
  itop-cron --param_file=/etc/itop/cron.params
  itop-cron --param_file=/etc/itop/cron.params --status_only=1
  itop-cron --param_file=/etc/itop/cron.params --verbose=1

Several hosts on one database or Galera cluster: 'itop_cron.cluster' => true in config-itop.php on each
(docs/several-hosts.md).
`;

/**
 * The whole `--help`: usage, options, the subcommands one a line, then the cron arguments. Written by
 * hand rather than by commander, whose loading alone made `--help` start in 1.6× a bare `node`.
 */
export function helpText(commands: readonly { readonly name: string; readonly summary: string }[]): string {
  const rows: [string, string][] = [...commands.map((c): [string, string] => [c.name, c.summary]), ['help [command]', 'display help for command']];
  const width = Math.max(...rows.map(([name]) => name.length), '-V, --version'.length) + 2;
  const line = ([name, text]: [string, string]): string => `  ${name.padEnd(width)}${text}`;
  return [
    'Usage: itop-cron [--auth_user=<login> --auth_pwd=<password>] [--param_file=<file>] [--verbose=1] [--debug=1] [--status_only=1]',
    '       itop-cron <command> [options]',
    '',
    "A drop-in replacement for iTop's cron.php background task runner",
    '',
    'Options:',
    line(['-V, --version', 'output the version number']),
    line(['-h, --help', 'display help for command']),
    '',
    'Commands:',
    ...rows.map(line),
    '',
  ].join('\n') + CRON_HELP;
}
