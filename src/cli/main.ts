import { EXIT_FATAL } from '../errors.js';
import { streamSink } from '../output/stdout.js';
import { closestOption } from './argText.js';
import type { CommandIo } from './cronCommand.js';
import { CRON_PARAMS, OWN_PARAMS } from './params.js';
import { packageVersion } from './version.js';

/** A subcommand: its name, one line of help, and what runs it (argv after the name). */
export interface Subcommand {
  readonly name: string;
  readonly summary: string;
  readonly run: (argv: readonly string[], io: CommandIo) => Promise<number>;
}

/**
 * A subcommand whose module is imported only when it runs: the default command (and `--status_only`,
 * called by monitoring every minute) must not load the code of every subcommand (bench/RESULTS.md).
 */
function lazy(load: () => Promise<Subcommand['run']>): Subcommand['run'] {
  return async (argv, io) => (await load())(argv, io);
}

// Add yours with lazy(): a static import here is paid by every cron start.
const SUBCOMMANDS: Subcommand[] = [
  { name: 'demo', summary: 'try itop-cron on a private, throwaway MariaDB and iTop database (no server or configuration needed)', run: lazy(async () => (await import('./demoCommand.js')).demoCommand) },
  { name: 'init', summary: 'create the iTop tables itop-cron needs and an administrator (standalone trial database)', run: lazy(async () => (await import('./initCommand.js')).initCommand) },
  { name: 'serve', summary: 'web mode: serve the cron page (GET /webservices/cron.php, HTTP Basic auth of an administrator)', run: lazy(async () => (await import('./serveCommand.js')).serveCommand) },
  { name: 'status', summary: 'health check: tasks, lateness, lock, queues (--json; exit 1 when unhealthy)', run: lazy(async () => (await import('./statusCommand.js')).statusCommand) },
  { name: 'task', summary: 'list, pause, resume, run or reschedule a background task', run: lazy(async () => (await import('./taskCommand.js')).taskCommand) },
  { name: 'history', summary: 'the latest task runs (start, outcome, duration, message)', run: lazy(async () => (await import('./historyCommand.js')).historyCommand) },
];

/** Registers extra subcommands (web mode, status, task control...) from their own modules. */
export function addSubcommand(cmd: Subcommand): void {
  SUBCOMMANDS.push(cmd);
}

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
  --log_file=<file>       structured log file (default: stderr; env ITOP_CRON_LOG)
  --log_level=<level>     fatal, error, warn, info (default), debug, trace, silent
  --mysql_bindir=<dir>    where mysqldump is, for backups (default: the PATH)
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
`;

/**
 * The top of `--help`: usage, options, the subcommands one a line. Written here rather than by commander,
 * whose loading alone made `--help` start in 1.6× the time of a bare `node` (bench/RESULTS.md).
 */
function helpHeader(): string {
  const rows: [string, string][] = [
    ...SUBCOMMANDS.map((c): [string, string] => [c.name, c.summary]),
    ['help [command]', 'display help for command'],
  ];
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
  ].join('\n');
}

/**
 * The CLI: cron.php's argument semantics for the default command (commander's parser would accept forms
 * cron.php does not); --help and --version without loading anything else.
 */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    const target = SUBCOMMANDS.find((c) => c.name === rest[0]);
    if (target !== undefined) return target.run(['--help'], io);
    io.out.raw(helpHeader() + CRON_HELP);
    return 0;
  }
  if (first === '--version' || first === '-V') {
    io.out.line(packageVersion());
    return 0;
  }
  const sub = SUBCOMMANDS.find((c) => c.name === first);
  if (sub !== undefined) return sub.run(rest, io);
  if (first !== undefined && !first.startsWith('-')) {
    // Repeated only when it is a near miss of a subcommand: the word may be a password typed after a space.
    const near = closestOption(first, SUBCOMMANDS.map((c) => c.name));
    const option = closestOption(first, [...CRON_PARAMS, ...OWN_PARAMS]);
    if (near !== undefined) io.out.line(`Error: Unknown command '${first}' (did you mean itop-cron ${near}?)`);
    else if (option !== undefined && !first.includes('=')) io.out.line(`Error: Unknown command '${first}' (arguments are --name=value: --${option}=...)`);
    else io.out.line('Error: Unknown command (see itop-cron --help; the word itself is not shown)');
    return EXIT_FATAL;
  }
  // Imported here, not at the top: `--version` and `--help` must not load the database driver, the
  // configuration reader and the logger (they started in 2.4× the time of a bare node; bench/RESULTS.md).
  const { cronCommand } = await import('./cronCommand.js');
  return cronCommand(argv, io);
}

/** Signals: the first asks the run to stop cleanly, the second forces the exit (STYLE.md). */
export function installSignalHandlers(controller: AbortController): void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    count += 1;
    if (count === 1) controller.abort(new Error(`received ${signal}`));
    else process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK'] as const) {
    try {
      process.on(s, onSignal);
    } catch {
      // SIGBREAK exists only on Windows (console close / Ctrl+Break)
    }
  }
}

/** Entry point used by bin/itop-cron.js. */
export async function runCli(): Promise<void> {
  const controller = new AbortController();
  installSignalHandlers(controller);
  const io: CommandIo = {
    out: streamSink(process.stdout),
    err: streamSink(process.stderr),
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
  };
  const code = await main(process.argv.slice(2), io);
  process.exitCode = code;
  // Everything is closed by now; a task abandoned past its hard deadline must not keep the process alive.
  setTimeout(() => process.exit(code), 2000).unref();
}
