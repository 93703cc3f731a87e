#!/usr/bin/env node
// The executable shim. The command line runs from dist/bundle/ (scripts/bundle.mjs: a few files instead of
// some 150 modules to resolve at each start); dist/ holds the same code as a library, for tests and
// extensions. V8 flags must be set before that code loads, hence the dynamic import; Node's own options
// (--max-semi-space-size...) would need the shebang line, which env does not pass everywhere.
import v8 from 'node:v8';

// A cron run loads much code at start and then allocates little: V8 would grow its young generation to
// 32 MiB for the start-up burst and keep it. Keeping it at its initial size saves 5 to 10 MiB of RSS for a
// few more (cheap) scavenges (bench/RESULTS.md).
v8.setFlagsFromString('--semi-space-growth-factor=1');

// `--status_only=1`, as monitoring calls it every minute, lives a few hundred milliseconds: the optimizing
// compiler has no time to pay back its ~5 MiB of compilations (bench/RESULTS.md). Only the speed and the
// memory of that run change, whatever the option's final value (a later argument or a parameter file).
if (process.argv.some((a) => /^--status_only=(?!0?$)/.test(a))) v8.setFlagsFromString('--no-opt');

const { runCli } = await import('../dist/bundle/main.js');
await runCli();
