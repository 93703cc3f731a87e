#!/usr/bin/env node
// The executable shim: everything lives in the library (dist/), so that tests can call it directly.
import { runCli } from '../dist/cli/main.js';

await runCli();
