/**
 * `itop-cron --version` and `itop-cron --help` (without a subcommand), which bin/itop-cron.js runs from
 * dist/quick/quick.js (scripts/bundle.mjs), so that they start in the time of a bare `node -e 0`
 * (bench/RESULTS.md, startup). What that took: one file; no ESM import of a Node built-in (each costs a
 * bare start ~10 % on a busy machine; process.getBuiltinModule does not); writeSync on fd 1 rather than
 * process.stdout, whose set-up loads the stream machinery. `help <command>` goes through main.ts.
 */
import { BUILT_IN_COMMANDS, helpText } from './helpText.js';

type Fs = typeof import('node:fs');

/** package.json, two levels up from dist/quick/, dist/cli/ (tsc's copy) and src/cli/ (tsx) alike. */
function version(fs: Fs): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** All of `text` on stdout: synchronously, or through process.stdout when fd 1 is a non-blocking pipe. */
function writeOut(fs: Fs, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  try {
    while (done < bytes.length) done += fs.writeSync(1, bytes, done);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    process.stdout.write(bytes.subarray(done));
  }
}

/** Prints the version or the help for `first` (one of the shim's quick arguments). */
export function runQuick(first: string): void {
  const fs = process.getBuiltinModule('node:fs');
  writeOut(fs, first === '--version' || first === '-V' ? `${version(fs)}\n` : helpText(BUILT_IN_COMMANDS));
}
