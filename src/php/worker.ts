/**
 * One PHP worker: `php php/bridge.php` with iTop bootstrapped once, serving one request at a time over a
 * pipe (php/bridge.php describes the protocol). The worker runs in a process group of its own, so that a
 * kill takes its children with it (a task's mysqldump must not outlive it).
 *
 * Frames are stdout lines "<nonce> <json>": the nonce is random per worker and removed from PHP's
 * environment before iTop loads, so nothing a task prints can forge an answer. Whatever else reaches
 * stdout or stderr (a PHP warning, a notice at shutdown) is logged, never parsed.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import { packageRoot } from '../packageRoot.js';

/** What the bridge answers (fields depend on the request). */
export interface BridgeAnswer {
  readonly ok: boolean;
  /** On failure: invalid-config, fatal, gone-away, exception, php-error, php-fatal, exit, bootstrap; ours: killed, crashed. */
  readonly kind?: string;
  readonly error?: string;
  readonly class?: string;
  readonly trace?: string;
  readonly message?: string | boolean | null;
  readonly next?: number | null;
  readonly classes?: readonly ListedClass[];
  readonly found?: boolean;
  readonly done?: boolean;
  readonly duration?: number;
  readonly peak_memory?: number;
  readonly memory?: number;
  readonly php?: string;
  readonly itop?: string | null;
}

/** One process class as iTop discovers it. */
export interface ListedClass {
  readonly class: string;
  readonly kind: 'periodic' | 'scheduled' | 'unknown';
  readonly periodicity?: number;
  /** Scheduled: the next occurrence, a Unix timestamp. */
  readonly next?: number | null;
  readonly error?: string;
  readonly error_kind?: string;
}

export interface WorkerOptions {
  readonly php: string;
  readonly itopRoot: string;
  /** The iTop login already authenticated by itop-cron. */
  readonly login: string;
  readonly log: Logger;
  /** A file opcache under the iTop root's data/ (the bootstrap drops from ~0.3 s to ~0.1 s). */
  readonly opcache: boolean;
  /** How long the bootstrap may take (ms). */
  readonly startTimeoutMs?: number;
  /** Aborted (the task's deadline, the end of the run): the bootstrapping worker is killed at once. */
  readonly signal?: AbortSignal;
}

/** A worker that could not start or died: the error is what the task's run reports. */
export class BridgeError extends Error {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.name = 'BridgeError';
    this.kind = kind;
  }
}

/** How long a TERMed worker gets before it is KILLed. */
const KILL_GRACE_MS = 1000;

/** Environment variables that may carry a secret: the PHP process (and what it starts) never sees them. */
const SECRET_ENV = /(PWD|PASS|SECRET|TOKEN|KEY)/i;

export function workerEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined || SECRET_ENV.test(k) || k.startsWith('ITOP_CRON_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export function bridgeScript(): string {
  return join(packageRoot(), 'php', 'bridge.php');
}

function opcacheArgs(itopRoot: string, log: Logger): string[] {
  const dir = join(itopRoot, 'data', 'cache-production', 'itop-cron-opcache');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    log.debug({ dir, err: (e as Error).message }, 'no file opcache for the PHP bridge');
    return [];
  }
  return ['-d', 'opcache.enable_cli=1', '-d', `opcache.file_cache=${dir}`, '-d', 'opcache.file_cache_only=1'];
}

type Pending = {
  readonly resolve: (a: BridgeAnswer) => void;
  readonly onOutput: ((text: string) => void) | undefined;
};

export class PhpWorker {
  readonly pid: number;
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly nonce: string;
  private readonly log: Logger;
  private buffer = '';
  private pending: Pending | undefined;
  private seq = 0;
  private exited = false;
  private readonly exit: Promise<void>;
  private exitText = '';
  /** Set once the bridge answered its bootstrap. */
  info: BridgeAnswer | undefined;

  private constructor(child: ChildProcessByStdio<Writable, Readable, Readable>, nonce: string, log: Logger) {
    this.child = child;
    this.nonce = nonce;
    this.log = log;
    this.pid = child.pid ?? 0;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr.on('data', (chunk: string) => this.onStray('stderr', chunk));
    child.stdin.on('error', () => undefined); // EPIPE once the worker died: its exit is what counts
    this.exit = new Promise((resolve) => {
      const ended = (text: string, kind: string): void => {
        if (this.exited) return;
        this.exited = true;
        this.exitText = text;
        const p = this.pending;
        this.pending = undefined;
        p?.resolve({ ok: false, kind, error: `the PHP worker ${text}` });
        resolve();
      };
      child.on('exit', (code, signal) =>
        ended(
          signal !== null ? `killed by ${signal}` : `exited with code ${code ?? '?'}`,
          signal === 'SIGSEGV' || signal === 'SIGABRT' || signal === 'SIGBUS' ? 'crashed' : 'exit',
        ),
      );
      // A PHP that could not be started (ENOENT, EACCES) has no pid and never emits 'exit'.
      child.on('error', (e) => {
        if (child.pid === undefined) ended(`could not be started (${e.message})`, 'bootstrap');
      });
    });
  }

  /** Starts a worker and waits for iTop's bootstrap. Throws BridgeError when it fails. */
  static async start(o: WorkerOptions): Promise<PhpWorker> {
    const nonce = randomBytes(18).toString('base64url');
    const args = [...(o.opcache ? opcacheArgs(o.itopRoot, o.log) : []), bridgeScript()];
    let child: ChildProcessByStdio<Writable, Readable, Readable>;
    try {
      child = spawn(o.php, args, {
        cwd: o.itopRoot,
        detached: process.platform !== 'win32',
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
        env: workerEnv(process.env, {
          ITOP_CRON_BRIDGE_ROOT: o.itopRoot,
          ITOP_CRON_BRIDGE_LOGIN: o.login,
          ITOP_CRON_BRIDGE_NONCE: nonce,
        }),
      });
    } catch (e) {
      throw new BridgeError('bootstrap', `cannot start ${o.php}: ${(e as Error).message}`);
    }
    const spawnError = new Promise<BridgeAnswer>((resolve) =>
      child.once('error', (e) => resolve({ ok: false, kind: 'bootstrap', error: `cannot start ${o.php}: ${e.message}` })),
    );
    const worker = new PhpWorker(child, nonce, o.log.child({ phpWorker: child.pid }));
    const timeoutMs = o.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const ready = await Promise.race([
      worker.expect(undefined),
      spawnError,
      new Promise<BridgeAnswer>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, kind: 'bootstrap', error: `iTop's bootstrap took more than ${timeoutMs / 1000}s` }), timeoutMs);
      }),
      new Promise<BridgeAnswer>((resolve) => {
        // Synchronous: the process exit handler aborts too, and cannot wait.
        onAbort = (): void => {
          worker.killNow();
          resolve({ ok: false, kind: 'killed', error: "the PHP worker was killed during iTop's bootstrap" });
        };
        if (o.signal?.aborted === true) onAbort();
        else o.signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (onAbort !== undefined) o.signal?.removeEventListener('abort', onAbort);
    if (!ready.ok) {
      await worker.kill();
      throw new BridgeError(ready.kind ?? 'bootstrap', `the PHP bridge could not start iTop: ${ready.error ?? 'no answer'}`);
    }
    worker.info = ready;
    worker.log.debug({ php: ready.php, itop: ready.itop, bootstrap: ready.duration }, 'PHP worker ready');
    return worker;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Sends one request and waits for its answer; `onOutput` gets what the task echoes, as it comes. */
  request(req: Record<string, unknown>, onOutput?: (text: string) => void): Promise<BridgeAnswer> {
    if (this.exited) return Promise.resolve({ ok: false, kind: 'exit', error: `the PHP worker ${this.exitText}` });
    if (this.pending !== undefined) throw new Error('a PHP worker serves one request at a time');
    const seq = ++this.seq;
    const answer = this.expect(onOutput);
    this.child.stdin.write(`${JSON.stringify({ ...req, seq })}\n`);
    return answer;
  }

  private expect(onOutput: ((text: string) => void) | undefined): Promise<BridgeAnswer> {
    return new Promise((resolve) => {
      this.pending = { resolve, onOutput };
    });
  }

  private onStdout(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    if (line === '') return; // the newline that starts every frame
    if (!line.startsWith(`${this.nonce} `)) {
      this.onStray('stdout', line);
      return;
    }
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(line.slice(this.nonce.length + 1)) as Record<string, unknown>;
    } catch {
      this.log.warn('the PHP bridge sent an unreadable frame');
      return;
    }
    if (frame['event'] === 'output') {
      const text = typeof frame['text'] === 'string' ? frame['text'] : '';
      if (this.pending?.onOutput !== undefined) this.pending.onOutput(text);
      else this.onStray('stdout', text);
      return;
    }
    const p = this.pending;
    this.pending = undefined;
    p?.resolve(frame as unknown as BridgeAnswer);
  }

  private onStray(stream: 'stdout' | 'stderr', text: string): void {
    const trimmed = text.trim();
    if (trimmed !== '') this.log.warn({ stream, text: trimmed.slice(0, 2000) }, 'output of the PHP worker outside a task');
  }

  /** Resident memory in bytes (Linux), undefined elsewhere. */
  rss(): number | undefined {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m === null ? undefined : Number(m[1]) * 1024;
    } catch {
      return undefined;
    }
  }

  private signalGroup(signal: NodeJS.Signals): void {
    // No pid (never started): process.kill(-0) would signal itop-cron's own process group.
    if (this.pid <= 0) return;
    try {
      if (process.platform === 'win32') this.child.kill(signal);
      else process.kill(-this.pid, signal);
    } catch {
      // already gone
    }
  }

  /** TERM to the whole process group, KILL after a second; resolves once the worker exited. */
  async kill(): Promise<void> {
    if (!this.exited) this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), KILL_GRACE_MS);
    await this.exit;
    clearTimeout(timer);
    // The worker is gone; what it started in its group goes too (a mysqldump that ignores TERM).
    this.signalGroup('SIGKILL');
  }

  /** Ends the worker between requests: stdin closed, it exits; killed if it does not within 2 s. */
  async close(): Promise<void> {
    if (this.exited) return;
    this.child.stdin.end();
    const timer = setTimeout(() => void this.kill(), 2000);
    await this.exit;
    clearTimeout(timer);
  }

  /** For process exit handlers: no waiting. */
  killNow(): void {
    if (!this.exited) this.signalGroup('SIGKILL');
  }
}
