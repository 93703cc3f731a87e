/**
 * A database that cannot be reached at start-up: cron.php's own line stays on stdout, and one line on
 * stderr (and in the log) says where itop-cron tried and what to check. Never "MySQL has gone away" for
 * a refused connection, never the password.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, writeParamFile } from './helpers/cli.js';
import { getTestServer } from './helpers/mariadb.js';
import { tempDir } from './helpers/tempDir.js';

const CRON_PHP_LINE = '<p>iTop: An error occurred, check server error log for more information.</p>\n';
const DB_PWD = 'Db-Pa55-never-shown';

/** A TCP port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Runs the default command against `env`'s database, the log in a file so that stderr is ours alone. */
async function run(env: Record<string, string>, args: readonly string[] = []): Promise<{ code: number | null; stdout: string; stderr: string; log: string }> {
  const dir = tempDir('itop-cron-connect-');
  const logFile = join(dir, 'cron.log');
  const params = writeParamFile('auth_user=admin\nauth_pwd=whatever\n');
  const r = await runCli([...args, `--param_file=${params}`], {
    env: { ITOP_DB_NAME: 'itop', ITOP_DB_USER: 'root', ITOP_DB_PWD: DB_PWD, ITOP_CRON_LOG: logFile, ...env },
  });
  let log = '';
  try {
    log = readFileSync(logFile, 'utf8');
  } catch {
    // no log file: the assertions below say what is missing
  }
  for (const text of [r.stdout, r.stderr, log]) assert.ok(!text.includes(DB_PWD), `password shown in: ${text}`);
  return { ...r, log };
}

/** cron.php's stdout, exit 255, and exactly one line of ours on stderr, also in the log. */
function assertReported(r: Awaited<ReturnType<typeof run>>, expected: RegExp): string {
  assert.equal(r.code, 255, r.stdout + r.stderr);
  assert.equal(r.stdout, CRON_PHP_LINE);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  const line = lines[0] ?? '';
  assert.match(line, /^itop-cron: Could not connect to the DB server: /);
  assert.match(line, expected);
  assert.doesNotMatch(line, /gone away/i);
  assert.ok(r.log.includes(line.slice('itop-cron: '.length)), `not in the log: ${r.log}`);
  return line;
}

test('connection refused: names host:port, asks whether MariaDB runs, the Debian root hint; not "gone away"', async () => {
  const port = await closedPort();
  const r = await run({ ITOP_DB_HOST: `127.0.0.1:${port}` });
  assertReported(r, new RegExp(`connection refused at 127\\.0\\.0\\.1:${port}: is MariaDB running.*On Debian, root logs in through the Unix socket: set db_host to localhost$`));
  const other = await run({ ITOP_DB_HOST: `127.0.0.1:${port}`, ITOP_DB_USER: 'itop' });
  assertReported(other, /If it listens only on its Unix socket, set db_host to localhost$/);
});

test('connection refused for the status subcommand: one line, not "gone away"', async () => {
  const port = await closedPort();
  const r = await run({ ITOP_DB_HOST: `127.0.0.1:${port}` }, ['status']);
  assert.equal(r.code, 255);
  assert.match(r.stdout, new RegExp(`^Error: Could not connect to the DB server: connection refused at 127\\.0\\.0\\.1:${port}: is MariaDB running[^\\n]*\\n$`));
});

test('unknown host: names the host and db_host', async () => {
  const r = await run({ ITOP_DB_HOST: 'no-such-host.invalid:3306' });
  assertReported(r, /unknown host 'no-such-host\.invalid' \(db_host = 'no-such-host\.invalid:3306'\): check the name/);
});

test('a socket path that does not exist: names the path', async () => {
  const socket = join(tempDir('itop-cron-sock-'), 'mysqld.sock');
  const r = await run({ ITOP_DB_HOST: 'localhost', ITOP_DB_SOCKET: socket });
  const line = assertReported(r, /no socket at .+ \(ITOP_DB_SOCKET\): is MariaDB running\?/);
  assert.ok(line.includes(socket), line);
});

test('access denied (a real server, a wrong password): names user and host:port, the Debian root hint', async () => {
  const server = await getTestServer();
  const r = await run({ ITOP_DB_HOST: `${server.host}:${server.port}`, ITOP_DB_USER: 'root' });
  assertReported(
    r,
    new RegExp(`access denied for the database user 'root' at ${server.host.replace(/\./g, '\\.')}:${server.port}: check db_user and db_pwd\\. On Debian, root logs in through the Unix socket: set db_host to localhost$`),
  );
  const other = await run({ ITOP_DB_HOST: `${server.host}:${server.port}`, ITOP_DB_USER: 'nobody_here' });
  assertReported(other, /access denied for the database user 'nobody_here' at .+: check db_user and db_pwd$/);
});
