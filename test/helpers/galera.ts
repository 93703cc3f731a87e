/**
 * A real 3-node MariaDB Galera cluster on 127.0.0.1 for the cluster tests (issue 15): each node a mariadbd
 * of its own (own datadir, socket, client port, gcomm/IST/SST ports) under one temporary directory, with
 * Debian's galera-4 provider and rsync SST. Node 1 bootstraps the cluster (`--wsrep-new-cluster`), nodes 2
 * and 3 join one after the other (each waits for `Synced`). stop() shuts everything down and removes the
 * directory; the nodes are killed (with the rsync children of an SST) if the process exits first.
 *
 * rsync SST refuses to work when mariadbd runs as root, so as root the nodes run as `mysql` (the datadirs
 * chowned to it); as another user they run as that user.
 */
import { randomBytes } from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { findBinary, freePort, serverBinaries } from '../../src/mariadb/throwaway.js';

const execFileAsync = promisify(execFile);

/** Where Debian's galera-4 installs the wsrep provider. */
export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';

/** Why the cluster cannot start here (for `test(..., { skip })`), or undefined when it can. */
export function galeraUnavailable(): string | undefined {
  if (!existsSync(GALERA_PROVIDER)) return `${GALERA_PROVIDER} missing (apt-get install galera-4)`;
  if (findBinary('rsync') === undefined) return 'rsync missing (apt-get install rsync)';
  if (findBinary('wsrep_sst_rsync') === undefined) return 'wsrep_sst_rsync missing (mariadb-server)';
  try {
    serverBinaries(undefined);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

export interface GaleraNode {
  /** 1, 2 or 3. */
  readonly index: number;
  /** The client port on 127.0.0.1 (root, no password). */
  readonly port: number;
  /** The gcomm port (`base_port`). */
  readonly gcommPort: number;
  readonly dir: string;
  readonly pid: number | undefined;
  /** A new connection to this node (DATETIMEs as strings); optionally on a database. */
  connect(database?: string): Promise<mysql.Connection>;
  /** The node's error log, last lines (for failure messages). */
  logTail(lines?: number): string;
}

export interface GaleraCluster {
  readonly nodes: readonly GaleraNode[];
  readonly dir: string;
  /** Milliseconds from the first install-db to the third node Synced. */
  readonly startMs: number;
  /**
   * Stops node `index` (1-3): SIGTERM, a clean shutdown that leaves the cluster, or SIGKILL, a crash; the
   * other two keep the primary component. Its clients see their connections end.
   */
  stopNode(index: number, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts a stopped node `index` again: it rejoins the running cluster (IST or SST) and resolves once Synced. */
  startNode(index: number): Promise<void>;
  /** Shuts the nodes down (joiners first) and removes the directory. */
  stop(): Promise<void>;
}

interface NodePorts { port: number; gcomm: number; ist: number; sst: number }

interface LiveNode extends GaleraNode {
  child: ChildProcess | undefined;
  /** The error log's [ERROR] lines: the cause of a failed start, which the tail (the shutdown that follows) hides. */
  startupErrors(): string;
}

/**
 * Nodes of this process still running, and the directories of its clusters: on exit, or on a signal (the
 * test runner's SIGTERM on a timeout), the nodes are killed first and their directories removed after,
 * as throwaway.ts does for one server (tempDir()'s exit handler would remove them under running nodes).
 */
const live = new Set<LiveNode>();
const roots = new Set<string>();
function killAllSync(): void {
  for (const n of live) killGroup(n.child);
  live.clear();
  for (const dir of roots) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  roots.clear();
}
process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAllSync();
    // The process ends as it would have without this handler.
    process.kill(process.pid, signal);
  });
}

/** SIGKILL to the node's process group: mariadbd and the rsync daemon/clients of a running SST. */
function killGroup(child: ChildProcess | undefined): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
}

/** Where a node's mariadbd writes its error log. */
const errLog = (dir: string): string => join(dir, 'err.log');

/** The lines of a node's error log, or undefined when it wrote none. */
function logLines(dir: string): string[] | undefined {
  try {
    return readFileSync(errLog(dir), 'utf8').trimEnd().split('\n');
  } catch {
    return undefined;
  }
}

function errorLines(dir: string): string {
  const lines = logLines(dir);
  if (lines === undefined) return '(no error log)';
  const found = lines.filter((l) => l.includes('[ERROR]'));
  return found.length > 0 ? found.slice(0, 30).join('\n') : '(no [ERROR] line)';
}

function tail(dir: string, lines: number): string {
  return logLines(dir)?.slice(-lines).join('\n') ?? '(no error log)';
}

/** As root: run the nodes as `mysql` (rsync SST refuses root). Otherwise as ourselves. */
function runAs(): { user: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('mysql:'));
  if (line === undefined) return { user: 'root', uid: 0, gid: 0 };
  const [, , uid, gid] = line.split(':');
  return { user: 'mysql', uid: Number(uid), gid: Number(gid) };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}

function nodeArgs(dir: string, index: number, ports: readonly NodePorts[], user: string | undefined, cluster: string): string[] {
  const me = ports[index - 1] as NodePorts;
  const provider = [
    `base_port=${me.gcomm}`, `gmcast.listen_addr=tcp://127.0.0.1:${me.gcomm}`, `ist.recv_addr=127.0.0.1:${me.ist}`,
    // A small gcache: the tests write little, and three nodes share the machine's disk.
    'gcache.size=32M',
  ].join(';');
  return [
    '--no-defaults', `--datadir=${join(dir, 'data')}`, `--socket=${join(dir, 's.sock')}`, `--port=${me.port}`,
    '--bind-address=127.0.0.1', `--pid-file=${join(dir, 'pid')}`, `--log-error=${errLog(dir)}`,
    `--tmpdir=${join(dir, 'tmp')}`, ...(user !== undefined ? [`--user=${user}`] : []),
    '--skip-log-bin', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci',
    '--innodb-flush-log-at-trx-commit=0', '--innodb-buffer-pool-size=64M', '--max-connections=300',
    '--wsrep-on=ON', `--wsrep-provider=${GALERA_PROVIDER}`,
    `--wsrep-cluster-address=gcomm://${ports.map((p) => `127.0.0.1:${p.gcomm}`).join(',')}`,
    `--wsrep-node-address=127.0.0.1:${me.gcomm}`, `--wsrep-node-name=node${index}`, `--wsrep-cluster-name=${cluster}`,
    `--wsrep-provider-options=${provider}`,
    '--wsrep-sst-method=rsync', `--wsrep-sst-receive-address=127.0.0.1:${me.sst}`,
    '--binlog-format=ROW', '--innodb-autoinc-lock-mode=2', '--default-storage-engine=InnoDB',
  ];
}

async function initDataDir(installDb: string, dir: string, user: string | undefined): Promise<void> {
  await execFileAsync(installDb, [
    '--no-defaults', `--datadir=${join(dir, 'data')}`, '--auth-root-authentication-method=normal',
    '--skip-test-db', '--skip-name-resolve', ...(user !== undefined ? [`--user=${user}`] : []),
    // Passed on to the bootstrap server: its temporary tables in the node's own directory, not in a /tmp
    // that other processes of the machine clean up (an install-db failed on a vanished #sql-temptable).
    `--tmpdir=${join(dir, 'tmp')}`,
  ], { maxBuffer: 16 * 1024 * 1024 });
}

/** The node's mariadbd ended before it was Synced. */
class NodeExitedError extends Error {}

/** Resolves once the node answers and reports `Synced`; rejects if it exits first or after `ms`. */
async function waitSynced(node: LiveNode, ms: number): Promise<void> {
  const until = Date.now() + ms;
  let last = 'no connection';
  while (Date.now() < until) {
    const child = node.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      throw new NodeExitedError(`galera node ${node.index} exited during start-up:\n${node.startupErrors()}\n[…]\n${node.logTail(20)}`);
    }
    try {
      const conn = await mysql.createConnection({ host: '127.0.0.1', port: node.port, user: 'root', connectTimeout: 1000 });
      try {
        const [rows] = await conn.query<mysql.RowDataPacket[]>("SHOW STATUS LIKE 'wsrep_local_state_comment'");
        last = String(rows[0]?.['Value'] ?? '');
        if (last === 'Synced') return;
      } finally {
        await conn.end().catch(() => undefined);
      }
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`galera node ${node.index} not Synced within ${ms} ms (${last}):\n${node.startupErrors()}\n[…]\n${node.logTail(20)}`);
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

async function stopNode(node: LiveNode, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  const child = node.child;
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    if (signal === 'SIGKILL') killGroup(child);
    else child.kill('SIGTERM');
    if (!(await waitExit(child, 30_000))) {
      killGroup(child);
      await waitExit(child, 10_000);
    }
  }
  live.delete(node);
}

/** Starts the three nodes (node 1 bootstraps, 2 and 3 join one at a time); about 15–30 s. */
export async function startGaleraCluster(): Promise<GaleraCluster> {
  const why = galeraUnavailable();
  if (why !== undefined) throw new Error(`cannot start a Galera cluster: ${why}`);
  const started = Date.now();
  const { installDb, mariadbd } = serverBinaries(undefined);
  const as = runAs();
  const user = as?.user;
  const root = mkdtempSync(join(tmpdir(), 'itop-cron-galera-'));
  roots.add(root);
  // The nodes' user must reach its datadir through the temporary directory.
  if (as !== undefined) chmodSync(root, 0o755);
  const ports: NodePorts[] = [];
  const taken = new Set<number>();
  const pick = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) { taken.add(p); return p; }
    }
  };
  for (let i = 0; i < 3; i++) ports.push({ port: await pick(), gcomm: await pick(), ist: await pick(), sst: await pick() });
  const nodes: LiveNode[] = ports.map((p, i) => {
    const dir = join(root, `node${i + 1}`);
    const node: LiveNode = {
      index: i + 1, port: p.port, gcommPort: p.gcomm, dir, child: undefined,
      get pid() { return node.child?.pid; },
      connect: (database) => mysql.createConnection({
        host: '127.0.0.1', port: p.port, user: 'root', database, dateStrings: true,
        supportBigNumbers: true, bigNumberStrings: true, charset: 'UTF8MB4_UNICODE_CI',
      }),
      logTail: (lines = 15) => tail(dir, lines),
      startupErrors: () => errorLines(dir),
    };
    return node;
  });
  const stop = async (): Promise<void> => {
    for (const node of [...nodes].reverse()) await stopNode(node);
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    roots.delete(root);
  };
  // A name of its own: a node of another test file's cluster, should it ever reach one of these ports, is
  // refused by the group name instead of joining the wrong cluster.
  const clusterName = `itop-cron-test-${randomBytes(4).toString('hex')}`;
  const startNode = async (node: LiveNode, bootstrap: boolean): Promise<void> => {
    const args = nodeArgs(node.dir, node.index, ports, user, clusterName);
    if (bootstrap) args.push('--wsrep-new-cluster');
    for (let attempt = 1; ; attempt++) {
      // Its own process group: killGroup() reaches the rsync processes of an SST too.
      node.child = spawn(mariadbd, args, { stdio: 'ignore', detached: true });
      node.child.unref();
      live.add(node);
      try {
        await waitSynced(node, 90_000);
        return;
      } catch (e) {
        // galera-4 26.4 has a start-up race of its own: its gcomm thread can be gone before the provider
        // reads the thread's scheduling parameters ("Failed to read thread schedparams: ... No such
        // process"), and the node aborts; seen about once in ten cluster starts with two starting at once.
        // Starting the node again is what an administrator does; the cause is printed, never hidden, and
        // a node that fails three times fails the start.
        if (!(e instanceof NodeExitedError) || attempt >= 3) throw e;
        const cause = node.startupErrors().split('\n')[0] ?? '';
        process.stderr.write(`# galera node ${node.index} exited during start-up (attempt ${attempt}): ${cause}; starting it again\n`);
        try { renameSync(errLog(node.dir), `${errLog(node.dir)}.${attempt}`); } catch { /* it wrote none */ }
      }
    }
  };
  const byIndex = (index: number): LiveNode => {
    const node = nodes[index - 1];
    if (node === undefined) throw new RangeError(`no galera node ${index}`);
    return node;
  };
  try {
    // allSettled: a failed install-db must not leave the others writing into the directory stop() removes.
    const inits = await Promise.allSettled(nodes.map(async (node) => {
      mkdirSync(join(node.dir, 'tmp'), { recursive: true });
      if (as !== undefined) chownTree(node.dir, as.uid, as.gid);
      await initDataDir(installDb, node.dir, user);
      if (as !== undefined) chownTree(node.dir, as.uid, as.gid);
    }));
    for (const r of inits) if (r.status === 'rejected') throw r.reason;
    for (const node of nodes) await startNode(node, node.index === 1);
  } catch (e) {
    // The start-up error is the one to report, not a failure of the clean-up after it.
    await stop().catch(() => undefined);
    throw e;
  }
  const startMs = Date.now() - started;
  return {
    nodes, dir: root, startMs, stop,
    stopNode: (index, signal) => stopNode(byIndex(index), signal),
    async startNode(index) {
      const node = byIndex(index);
      if (node.child !== undefined && node.child.exitCode === null && node.child.signalCode === null) return;
      // A node that was never the only one left rejoins the others; it never bootstraps a new cluster.
      await startNode(node, false);
    },
  };
}


/**
 * A started cluster and a fresh database on it (created through node 1, replicated to the others), with a
 * connection to node 1 inside that database for the test's own set-up; the caller ends the connection.
 */
export async function clusterWithDatabase(): Promise<{ cluster: GaleraCluster; dbName: string; setup: Awaited<ReturnType<GaleraNode['connect']>> }> {
  const cluster = await startGaleraCluster();
  process.stderr.write(`# galera cluster of 3 nodes started in ${cluster.startMs} ms\n`);
  const dbName = `t_${randomBytes(6).toString('hex')}`;
  const setup = await cluster.nodes[0]!.connect();
  await setup.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await setup.query(`USE \`${dbName}\``);
  return { cluster, dbName, setup };
}
