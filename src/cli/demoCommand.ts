import { runDemo } from '../demo/run.js';
import { MariaDbMissingError } from '../mariadb/throwaway.js';
import { coerceError, EXIT_ERROR, EXIT_FATAL, EXIT_OK } from '../errors.js';
import type { CommandIo } from './cronCommand.js';

const USAGE = `Usage: itop-cron demo [--keep] [--mysql_bindir=<dir>]

Shows itop-cron at work without a database server or any configuration: starts a private MariaDB in a
temporary directory, creates a small iTop database in it (a ticket past its time-to-own deadline, a
threshold notification, a queued e-mail, expired draft images), runs one verbose cron pass of 8 s with an
SMTP receiver of its own, says what happened, and removes everything. Needs the MariaDB server binaries
(mariadbd, mariadb-install-db), which it never runs on anything but its own temporary data.

  --keep                leave the server running and print how to point itop-cron at it
  --mysql_bindir=<dir>  where mariadbd and mariadb-install-db are (default: PATH, /usr/sbin, /usr/local/sbin...)

Exit codes: 0 the pass did everything it should, 1 it did not, 254 bad arguments, 255 MariaDB missing or
failing to start.
`;

/** `itop-cron demo`. */
export async function demoCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let keep = false;
  let binDir: string | undefined;
  for (const arg of argv) {
    const bindir = /^--mysql_bindir=(.+)$/.exec(arg);
    if (arg === '--help' || arg === '-h') {
      io.out.raw(USAGE);
      return EXIT_OK;
    }
    if (arg === '--keep' || arg === '--keep=1') keep = true;
    else if (bindir !== null) binDir = bindir[1];
    else {
      io.out.line(`Error: Unexpected argument '${arg}' for demo (see itop-cron demo --help)`);
      return EXIT_FATAL;
    }
  }
  try {
    return await runDemo({ keep, binDir, out: io.out, err: io.err, env: io.env });
  } catch (e) {
    // One line: which package to install, or why the private server did not start.
    const err = coerceError(e);
    io.out.line(`Error: ${err instanceof MariaDbMissingError ? err.message : err.message.split('\n')[0] ?? err.message}`);
    return EXIT_ERROR;
  }
}
