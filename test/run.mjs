// The `npm test` runner (after `npm run build`: the server code is the product's, dist/mariadb/): one throwaway MariaDB for the whole suite (unless ITOP_CRON_TEST_DB names a
// server), then node's test runner on test/*.test.ts. Extra arguments select test files (paths, or
// substrings of their names); arguments starting with `-` go to `node --test`. The cluster group
// (test/cluster-*.test.ts, a real Galera cluster of its own, `npm run test:cluster`) runs only when selected.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { startThrowawayServer } from '../dist/mariadb/throwaway.js';

const testDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(testDir);

function selectFiles(filters) {
  const all = readdirSync(testDir)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => join(testDir, name));
  if (filters.length === 0) return all.filter((file) => !basename(file).startsWith('cluster-'));
  return all.filter((file) =>
    filters.some((f) => file.endsWith(f.replace(/^\.\//, '')) || basename(file).includes(basename(f))),
  );
}

function runTests(files, nodeArgs, env) {
  const args = [
    '--import', 'tsx', '--test', `--test-concurrency=${availableParallelism()}`, ...nodeArgs,
    ...files.map((f) => relative(root, f)),
  ];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
  // Ctrl-C reaches the child too (same process group); a SIGTERM sent to this process alone is forwarded.
  const forward = (signal) => child.kill(signal);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

async function main() {
  const argv = process.argv.slice(2);
  const nodeArgs = argv.filter((a) => a.startsWith('-'));
  const filters = argv.filter((a) => !a.startsWith('-'));
  const files = selectFiles(filters);
  if (files.length === 0) {
    process.stderr.write(`no test file matches ${filters.join(' ')}\n`);
    return 1;
  }
  const env = { ...process.env };
  let server;
  if (!env.ITOP_CRON_TEST_DB) {
    server = await startThrowawayServer();
    env.ITOP_CRON_TEST_DB = server.url;
    process.stderr.write(`# throwaway MariaDB on 127.0.0.1:${server.port} (${server.dataDir})\n`);
  }
  try {
    return await runTests(files, nodeArgs, env);
  } finally {
    await server?.stop();
  }
}

process.exitCode = await main();
