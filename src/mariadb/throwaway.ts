/**
 * A private, throwaway MariaDB server in a temporary directory: `itop-cron demo` runs on it, and so does the
 * test suite (test/run.mjs loads the built copy, the TypeScript helpers this one). It never reads the
 * machine's my.cnf and never touches another server: its data, socket and log live in its own directory,
 * which stop() removes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const execFileAsync = promisify(execFile);

/** The server binaries are not installed: the message says which package brings them. */
export class MariaDbMissingError extends Error {
  constructor(binary: string) {
    super(
      `${binary} not found: install the MariaDB server (Debian/Ubuntu: apt-get install mariadb-server; ` +
        'RHEL/Fedora: dnf install mariadb-server)',
    );
    this.name = 'MariaDbMissingError';
  }
}

/** A MariaDB server of this process's own, in a temporary directory; root has no password. */
export interface ThrowawayServer {
  /** `mysql://root@127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** pid of the running mariadbd, undefined before it started. */
  readonly pid: number | undefined;
  /** Unix socket path of the server. */
  readonly socket: string;
  /** The temporary directory holding everything (data, socket, log). */
  readonly dir: string;
  readonly dataDir: string;
  /** Kills the server at once (SIGKILL) and removes its directory; for exit handlers. */
  killSync(): void;
  /** Shuts the server down cleanly and removes its directory. */
  stop(): Promise<void>;
  /** Shuts the server down and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Stops watching the server: it outlives this process (`itop-cron demo --keep`). */
  detach(): void;
}

/** Servers started by this process and still running: killed when the process ends, whatever way it ends. */
const live = new Set<ThrowawayServer>();
let handlersInstalled = false;

/**
 * Finds the first of `names` on PATH or in the usual sbin/bin folders (`/usr/sbin` is often not on a
 * user's PATH, and mariadbd lives there); undefined when none is found.
 */
export function findBinary(...names: string[]): string | undefined {
  return findBinaryIn(undefined, ...names);
}

/** As findBinary, but only in `binDir` when it is given (`--mysql_bindir`). */
export function findBinaryIn(binDir: string | undefined, ...names: string[]): string | undefined {
  const dirs = binDir !== undefined ? [binDir] : [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  for (const name of names) {
    for (const dir of dirs) {
      if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function killAllSync(): void {
  for (const server of live) server.killSync();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllSync();
  uninstallHandlers();
  // Re-raise so the process ends the way it would have without us (exit status of the signal).
  process.kill(process.pid, signal);
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off('exit', killAllSync);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no error log)';
  }
}

/** The two binaries a server needs, or MariaDbMissingError naming the package to install. */
export function serverBinaries(binDir: string | undefined): { installDb: string; mariadbd: string } {
  const installDb = findBinaryIn(binDir, 'mariadb-install-db', 'mysql_install_db');
  if (installDb === undefined) throw new MariaDbMissingError('mariadb-install-db');
  const mariadbd = findBinaryIn(binDir, 'mariadbd', 'mysqld');
  if (mariadbd === undefined) throw new MariaDbMissingError('mariadbd');
  return { installDb, mariadbd };
}

async function initDataDir(installDb: string, dir: string): Promise<void> {
  // --no-defaults keeps the machine's my.cnf out; normal root auth gives root@127.0.0.1 an empty password.
  await execFileAsync(installDb, [
    '--no-defaults', `--datadir=${join(dir, 'data')}`, '--auth-root-authentication-method=normal',
    '--skip-test-db', '--skip-name-resolve', '--user=root',
  ], { maxBuffer: 16 * 1024 * 1024 });
}

function launch(mariadbd: string, dir: string, port: number): ChildProcess {
  const child = spawn(mariadbd, [
    '--no-defaults', `--datadir=${join(dir, 'data')}`, `--socket=${join(dir, 's.sock')}`, `--port=${port}`,
    '--bind-address=127.0.0.1', `--pid-file=${join(dir, 'pid')}`, `--log-error=${join(dir, 'err.log')}`,
    '--user=root', '--skip-log-bin', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci',
    // Throwaway data: no need to survive a power cut, and tests create many small databases.
    '--innodb-flush-log-at-trx-commit=0', '--max-connections=1000',
  ], { stdio: 'ignore', detached: true });
  // The server must not keep this process alive; the exit handler stops it. Its own process group keeps a
  // Ctrl-C of the terminal from reaching it before the handler has removed its directory.
  child.unref();
  return child;
}

/** Resolves once the server accepts a connection; rejects if it exits first or takes over a minute. */
async function waitReady(child: ChildProcess, port: number, errLog: string): Promise<void> {
  let exited = false;
  const onExit = (): void => { exited = true; };
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

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
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
 * port and data (for fault-injection tests). The server is killed when the process exits, even on a signal,
 * unless detach() was called.
 */
export async function startThrowawayServer(opts: { prefix?: string; binDir?: string } = {}): Promise<ThrowawayServer> {
  const { installDb, mariadbd } = serverBinaries(opts.binDir);
  const dir = mkdtempSync(join(tmpdir(), opts.prefix ?? 'itop-cron-mariadb-'));
  const errLog = join(dir, 'err.log');
  let child: ChildProcess | undefined;
  let port = 0;
  async function shutdown(): Promise<void> {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await waitExit(child, 30_000))) {
      child.kill('SIGKILL');
      await waitExit(child, 10_000);
    }
  }
  const server: ThrowawayServer = {
    get url() { return `mysql://root@127.0.0.1:${port}`; },
    get port() { return port; },
    get pid() { return child?.pid; },
    socket: join(dir, 's.sock'),
    dir,
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
      child = launch(mariadbd, dir, port);
      await waitReady(child, port, errLog);
    },
    detach() {
      live.delete(server);
      if (live.size === 0) uninstallHandlers();
    },
  };
  live.add(server);
  installHandlers();
  try {
    await initDataDir(installDb, dir);
    // A port can be taken between freePort() and the bind: retry with another one.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      child = launch(mariadbd, dir, port);
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
