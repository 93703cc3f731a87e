#!/usr/bin/env node
// The executable shim: everything lives in the library (dist/), so that tests can call it directly.
import v8 from 'node:v8';

// A cron run loads much code at start and then allocates little: V8 would grow its young generation to
// 32 MiB for the start-up burst and keep it. Keeping it at its initial size saves 5 to 10 MiB of RSS for a
// few more (cheap) scavenges (bench/RESULTS.md). It must be set before the library loads, hence the
// dynamic import. Node's --max-semi-space-size would need a flag on the shebang line, which env does
// not pass everywhere.
v8.setFlagsFromString('--semi-space-growth-factor=1');
const { runCli } = await import('../dist/cli/main.js');

await runCli();
