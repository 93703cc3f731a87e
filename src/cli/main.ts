import { EXIT_FATAL } from '../errors.js';
import { streamSink } from '../output/stdout.js';
import { closestOption } from './argText.js';
import type { CommandIo } from './cronCommand.js';
import { BUILT_IN_COMMANDS, helpText, type BuiltInCommand } from './helpText.js';
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

// The subcommands' code, imported only when they run (add yours with lazy(): a static import here is
// paid by every cron start); their names and summaries are in helpText.ts, which --help reads alone.
const LOADERS = {
  demo: async () => (await import('./demoCommand.js')).demoCommand,
  init: async () => (await import('./initCommand.js')).initCommand,
  serve: async () => (await import('./serveCommand.js')).serveCommand,
  status: async () => (await import('./statusCommand.js')).statusCommand,
  task: async () => (await import('./taskCommand.js')).taskCommand,
  history: async () => (await import('./historyCommand.js')).historyCommand,
} satisfies Record<BuiltInCommand, () => Promise<Subcommand['run']>>;

const SUBCOMMANDS: Subcommand[] = BUILT_IN_COMMANDS.map((c) => ({ ...c, run: lazy(LOADERS[c.name]) }));

/** Registers extra subcommands (web mode, status, task control...) from their own modules. */
export function addSubcommand(cmd: Subcommand): void {
  SUBCOMMANDS.push(cmd);
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
    io.out.raw(helpText(SUBCOMMANDS));
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
