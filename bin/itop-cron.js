#!/usr/bin/env node
// The executable shim: everything lives in the library (dist/). V8 flags must be set before it loads,
// hence the dynamic import; Node's own options (--max-semi-space-size...) would need the shebang line,
// which env does not pass everywhere.

const args = process.argv.slice(2);

// `--version` and `--help`, asked by hand and by scripts that probe the tool, start as a bare `node`
// does: no V8 flags, no cron option reader, one small file (dist/quick/quick.js, scripts/bundle.mjs)
// instead of the eight modules of dist/ or the five of the bundle (bench/RESULTS.md, startup).
if (['--version', '-V', '--help', '-h', 'help'].includes(args[0] ?? '') && args.length === 1) {
  const { runQuick } = await import('../dist/quick/quick.js');
  runQuick(args[0]);
} else {
  const { runCli } = await prepareRun();
  await runCli();
}

async function prepareRun() {
  const { default: v8 } = await import('node:v8');
  // A cron run loads much code at start and then allocates little: V8 would grow its young generation to
  // 32 MiB for the start-up burst and keep it. Keeping it at its initial size saves 5 to 10 MiB of RSS for
  // a few more (cheap) scavenges (bench/RESULTS.md).
  v8.setFlagsFromString('--semi-space-growth-factor=1');

  // `--status_only=1`, as monitoring calls it every minute, lives a few hundred milliseconds, so it runs
  // from the bundle (dist/bundle/, scripts/bundle.mjs: a few files to read instead of some 150 modules)
  // and without the optimizing compiler, which has no time to pay back its ~5 MiB of compilations. A run
  // of minutes loads dist/ instead: the bundle keeps ~2.7 MiB more source in memory (bench/RESULTS.md).
  // The option is read with cron.php's rules (the command line wins over parameter files), so a run that
  // takes the bundle is always a status-only run of the default command: it never runs a task.
  const { flagValue, readCliParam } = await import('../dist/config/cliParam.js');
  const statusOnly = (args[0] === undefined || args[0].startsWith('-')) && flagValue(readCliParam(args, 'status_only'));
  if (statusOnly) v8.setFlagsFromString('--no-opt');
  // A cron run's old generation is small (~15 MiB) and src/scheduler/memory.ts collects it whole when it
  // grows: incremental marking only adds work, and it lets V8's memory reducer run three more full
  // collections ~8 s after start, whatever the run does. Without it a 10 s run with every task in PHP
  // costs 60-100 ms less CPU, and a 10-minute run peaks ~0.5 MiB higher (bench/RESULTS.md, php and long).
  // Set before anything is marked; only for the default command's runs, whose long runs memory.ts keeps
  // flat (`--status_only` has no time for a reducer's collection, and kept ~1 MiB more without it).
  else if (args[0] === undefined || args[0].startsWith('-')) v8.setFlagsFromString('--no-incremental-marking');
  return import(statusOnly ? '../dist/bundle/main.js' : '../dist/cli/main.js');
}
