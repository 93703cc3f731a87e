#!/usr/bin/env node
// The executable shim: everything lives in the library (dist/, bundled into dist/run/). V8 flags must be
// set before it loads, hence the dynamic import; Node's own options (--max-semi-space-size...) would need
// the shebang line, which env does not pass everywhere.

const args = process.argv.slice(2);

// `--version` and `--help`, asked by hand and by scripts that probe the tool, start as a bare `node`
// does: no V8 flags, no cron option reader, one small file (dist/quick/quick.js, scripts/bundle.mjs)
// instead of the command line's bundle and its code cache (bench/RESULTS.md, startup).
if (['--version', '-V', '--help', '-h', 'help'].includes(args[0] ?? '') && args.length === 1) {
  const { runQuick } = await import('../dist/quick/quick.js');
  runQuick(args[0]);
} else {
  const { runCli } = await prepareRun();
  await runCli();
}

async function prepareRun() {
  const { default: v8 } = await import('node:v8');
  // Every V8 flag set here is also part of the code cache's name (src/boot/codeCache.ts): V8 refuses a
  // cache made under other flags.
  const flags = [];
  const setFlag = (flag) => {
    v8.setFlagsFromString(flag);
    flags.push(flag);
  };
  // A cron run loads much code at start and then allocates little: V8 would grow its young generation to
  // 32 MiB for the start-up burst and keep it. Keeping it at its initial size saves 5 to 10 MiB of RSS for
  // a few more (cheap) scavenges (bench/RESULTS.md).
  setFlag('--semi-space-growth-factor=1');

  // `--status_only=1`, as monitoring calls it every minute, lives a few hundred milliseconds: it runs
  // without the optimizing compiler, which has no time to pay back its ~5 MiB of compilations. The option
  // is read with cron.php's rules (the command line wins over parameter files).
  const { flagValue, readCliParam } = await import('../dist/config/cliParam.js');
  const defaultCommand = args[0] === undefined || args[0].startsWith('-');
  const statusOnly = defaultCommand && flagValue(readCliParam(args, 'status_only'));
  if (statusOnly) setFlag('--no-opt');
  // A cron run's old generation is small (~15 MiB) and src/scheduler/memory.ts collects it whole when it
  // grows: incremental marking only adds work, and it lets V8's memory reducer run three more full
  // collections ~8 s after start, whatever the run does. Without it a 10 s run with every task in PHP
  // costs 60-100 ms less CPU, and a 10-minute run peaks ~0.5 MiB higher (bench/RESULTS.md, php and long).
  // Set before anything is marked; only for the default command's runs, whose long runs memory.ts keeps
  // flat (`--status_only` has no time for a reducer's collection, and kept ~1 MiB more without it).
  else if (defaultCommand) {
    setFlag('--no-incremental-marking');
    // ...and without TurboFan's inlining. What a long run's optimized code (and its compilations) keeps
    // grows as more functions get hot, for minutes: without inlining that warm-up ends ~7 MiB lower (a
    // 10-minute run: peak 72.8 MiB instead of 79.8, growth from its 2nd minute 2.1 MiB instead of 3.5),
    // and the run loses nothing where it spends CPU (ExecAsyncTask 279 mails/s against 260; a 10 s run
    // with every task in PHP the same). Without TurboFan at all (--no-opt) it grew 0.4 MiB, but e-mails
    // went out 40 % slower (bench/RESULTS.md, long).
    setFlag('--no-turbo-inlining');
  }

  // The command line is one CommonJS script with a code cache beside it (scripts/bundle.mjs): each kind
  // of run (--status_only, a cron run, the subcommands) has its own cache: each compiles other code, under
  // other flags.
  const { loadBundle } = await import('../dist/boot/codeCache.js');
  const { fileURLToPath, URL } = await import('node:url');
  const kind = statusOnly ? 'status_only' : defaultCommand ? 'cron' : 'command';
  return loadBundle(fileURLToPath(new URL('../dist/run/itop-cron.cjs', import.meta.url)), kind, flags.join(' '));
}
