// A throwaway MariaDB server in a temporary directory, for the test suite. Plain JavaScript so that both
// test/run.mjs (plain node) and the TypeScript helpers (under tsx) can use it.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const execFileAsync = promisify(execFile);

/** Servers started by this process and still running: killed when the process ends, whatever way it ends. */
const live = new Set();
let handlersInstalled = false;

/**
 * Finds the first of `names` on PATH or in the usual sbin/bin folders (`/usr/sbin` is often not on a
 * user's PATH, and mariadbd lives there); undefined when none is found.
 */
export function findBinary(...names) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  for (const name of names) {
    for (const dir of dirs) {
      if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function killAllSync() {
  for (const server of live) server.killSync();
}

function onSignal(signal) {
  killAllSync();
  uninstallHandlers();
  // Re-raise so the process ends the way it would have without us (exit status of the signal).
  process.kill(process.pid, signal);
}

function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);
}

function uninstallHandlers() {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(signal, onSignal);
}

function tail(file, lines = 15) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no error log)';
  }
}

async function initDataDir(dir) {
  const installDb = findBinary('mariadb-install-db', 'mysql_install_db');
  if (installDb === undefined) {
    throw new Error('mariadb-install-db not found: install mariadb-server, or set ITOP_CRON_TEST_DB=mysql://user:pwd@host:port');
  }
  // --no-defaults keeps the machine's my.cnf out; normal root auth gives root@127.0.0.1 an empty password.
  await execFileAsync(installDb, [
    '--no-defaults', `--datadir=${join(dir, 'data')}`, '--auth-root-authentication-method=normal',
    '--skip-test-db', '--skip-name-resolve', '--user=root',
  ], { maxBuffer: 16 * 1024 * 1024 });
}

function launch(dir, port) {
  const mariadbd = findBinary('mariadbd', 'mysqld');
  if (mariadbd === undefined) throw new Error('mariadbd not found: install mariadb-server');
  const child = spawn(mariadbd, [
    '--no-defaults', `--datadir=${join(dir, 'data')}`, `--socket=${join(dir, 's.sock')}`, `--port=${port}`,
    '--bind-address=127.0.0.1', `--pid-file=${join(dir, 'pid')}`, `--log-error=${join(dir, 'err.log')}`,
    '--user=root', '--skip-log-bin', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci',
    // Throwaway data: no need to survive a power cut, and tests create many small databases.
    '--innodb-flush-log-at-trx-commit=0', '--max-connections=1000',
  ], { stdio: 'ignore' });
  // The server must not keep the test process alive; the exit handler stops it.
  child.unref();
  return child;
}

/** Resolves once the server accepts a connection; rejects if it exits first or takes over a minute. */
async function waitReady(child, port, errLog) {
  let exited = false;
  const onExit = () => { exited = true; };
  child.once('exit', onExit);
  try {
    for (let i = 0; i < 1200; i++) {
      if (exited) throw new Error(`mariadbd exited during start-up:\n${tail(errLog)}`);
      try {
        const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: '', connectTimeout: 1000 });
        await conn.end();
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`mariadbd did not accept connections within 60 s:\n${tail(errLog)}`);
  } finally {
    child.off('exit', onExit);
  }
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  child.ref();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

/**
 * Starts a MariaDB server of its own in a new temporary directory (root without password on 127.0.0.1).
 * `stop()` shuts it down and removes the directory; `restart()` stops it and starts it again on the same
 * port and data (for fault-injection tests). The server is killed when the process exits, even on a signal.
 */
export async function startThrowawayServer() {
  const dir = mkdtempSync(join(tmpdir(), 'itop-cron-mariadb-'));
  const errLog = join(dir, 'err.log');
  let child;
  let port = 0;
  const server = {
    get url() { return `mysql://root@127.0.0.1:${port}`; },
    get port() { return port; },
    get pid() { return child?.pid; },
    socket: join(dir, 's.sock'),
    dataDir: join(dir, 'data'),
    killSync() {
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      live.delete(server);
      rmSync(dir, { recursive: true, force: true });
    },
    async stop() {
      await shutdown();
      live.delete(server);
      if (live.size === 0) uninstallHandlers();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await shutdown();
      child = launch(dir, port);
      await waitReady(child, port, errLog);
    },
  };
  async function shutdown() {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await waitExit(child, 30_000))) {
      child.kill('SIGKILL');
      await waitExit(child, 10_000);
    }
  }
  live.add(server);
  installHandlers();
  try {
    await initDataDir(dir);
    // A port can be taken between freePort() and the bind: retry with another one.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      child = launch(dir, port);
      try {
        await waitReady(child, port, errLog);
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
        await shutdown();
      }
    }
  } catch (e) {
    server.killSync();
    throw e;
  }
  return server;
}
