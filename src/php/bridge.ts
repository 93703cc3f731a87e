/**
 * The PHP bridge of one cron run: the workers that run iTop's own processes (src/php/worker.ts), started
 * lazily and reused, so that iTop's bootstrap is paid once per run and not once per task. A worker is
 * replaced after a crash or a kill, after the database dropped its connection (iTop never reconnects),
 * when config-itop.php or env-production/ changed since it started, and when its resident memory passed
 * the cap (between tasks).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AsyncTaskRunner } from '../tasks/types.js';
import { cleanAfterKill } from './leftovers.js';
import type { BridgeSettings } from './settings.js';
import { BridgeError, PhpWorker, type BridgeAnswer, type ListedClass } from './worker.js';

export interface BridgeOptions {
  readonly php: string;
  readonly itopRoot: string;
  readonly login: string;
  readonly settings: BridgeSettings;
  readonly log: Logger;
}

/** What a request may be told while it runs. */
export interface RequestOptions {
  /** Aborted: the worker is killed (process group) and the request answers `killed`. */
  readonly signal?: AbortSignal;
  readonly onOutput?: (text: string) => void;
}

/** What identifies the iTop a worker bootstrapped: its configuration file and compiled data model. */
function itopSignature(root: string): string {
  const parts: string[] = [];
  for (const p of [join(root, 'conf', 'production', 'config-itop.php'), join(root, 'env-production')]) {
    try {
      const s = statSync(p);
      parts.push(`${s.ino}:${s.mtimeMs}`);
    } catch {
      parts.push('-');
    }
  }
  return parts.join('|');
}

interface Idle {
  readonly worker: PhpWorker;
  readonly signature: string;
}

export class PhpBridge implements AsyncTaskRunner {
  private readonly o: BridgeOptions;
  private readonly idle: Idle[] = [];
  private readonly busy = new Set<PhpWorker>();
  private readonly onExit = (): void => this.killAllNow();
  /** Aborted by close() and at process exit: a worker still bootstrapping is killed. */
  private readonly closing = new AbortController();
  private closed = false;
  /** Workers started during this run (for the log and the tests). */
  started = 0;

  constructor(o: BridgeOptions) {
    this.o = o;
    process.once('exit', this.onExit);
  }

  /** The settings the bridge was opened with (`itop_cron.php_tasks` decides which classes it runs). */
  get settings(): BridgeSettings {
    return this.o.settings;
  }

  /** iTop's process classes, in discovery order. */
  async list(): Promise<ListedClass[]> {
    const a = await this.request({ op: 'list' });
    if (!a.ok) throw new BridgeError(a.kind ?? 'exception', a.error ?? 'the PHP bridge could not list the process classes');
    return [...(a.classes ?? [])];
  }

  /** `<class>::Process(limit)`, limit a Unix timestamp. */
  run(className: string, limitUnix: number, opts: RequestOptions = {}): Promise<BridgeAnswer> {
    return this.request({ op: 'run', class: className, limit: limitUnix }, opts);
  }

  /** Async task `id` (iTop's own AsyncTask::Process, which keeps its row's status and retries). */
  runAsync(id: number, signal?: AbortSignal): Promise<BridgeAnswer> {
    return this.request({ op: 'async', id }, signal !== undefined ? { signal } : {});
  }

  private async acquire(signal: AbortSignal | undefined): Promise<{ worker: PhpWorker; signature: string }> {
    if (this.closed) throw new BridgeError('exit', 'the PHP bridge is closed');
    const signature = itopSignature(this.o.itopRoot);
    for (let it = this.idle.pop(); it !== undefined; it = this.idle.pop()) {
      if (it.worker.alive && it.signature === signature) return it;
      if (it.worker.alive) this.o.log.info({ phpWorker: it.worker.pid }, "iTop's configuration or data model changed: PHP worker restarted");
      await it.worker.close();
    }
    const worker = await PhpWorker.start({
      php: this.o.php,
      itopRoot: this.o.itopRoot,
      login: this.o.login,
      log: this.o.log,
      opcache: this.o.settings.opcache,
      signal: signal === undefined ? this.closing.signal : AbortSignal.any([signal, this.closing.signal]),
    });
    this.started++;
    return { worker, signature };
  }

  private async release(worker: PhpWorker, signature: string, answer: BridgeAnswer): Promise<void> {
    this.busy.delete(worker);
    if (!worker.alive) return;
    if (answer.kind === 'gone-away' || answer.kind === 'killed' || answer.kind === 'php-fatal' || answer.kind === 'exit') {
      await worker.kill();
      return;
    }
    const rss = worker.rss();
    if (rss !== undefined && rss > this.o.settings.memoryCapBytes) {
      this.o.log.info({ phpWorker: worker.pid, rssMiB: Math.round(rss / 1048576) }, 'PHP worker past its memory cap: recycled');
      await worker.close();
      return;
    }
    if (this.closed) await worker.close();
    else this.idle.push({ worker, signature });
  }

  private async request(req: Record<string, unknown>, opts: RequestOptions = {}): Promise<BridgeAnswer> {
    let acquired: { worker: PhpWorker; signature: string };
    try {
      acquired = await this.acquire(opts.signal);
    } catch (e) {
      // Stopped while iTop bootstrapped: answered as a kill during the task, not as a broken iTop.
      if (e instanceof BridgeError && e.kind === 'killed' && opts.signal?.aborted === true) return { ok: false, kind: 'killed', error: e.message };
      throw e;
    }
    const { worker, signature } = acquired;
    this.busy.add(worker);
    const startedMs = Date.now();
    let killed = false;
    const onAbort = (): void => {
      killed = true;
      void worker.kill();
    };
    if (opts.signal?.aborted === true) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    let answer: BridgeAnswer;
    try {
      answer = await worker.request(req, opts.onOutput);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (killed) {
      answer = { ok: false, kind: 'killed', error: 'the PHP worker was killed' };
      await worker.kill();
      cleanAfterKill(this.o.itopRoot, startedMs, this.o.log);
    } else if (!worker.alive && !answer.ok) {
      cleanAfterKill(this.o.itopRoot, startedMs, this.o.log);
    }
    await this.release(worker, signature, answer);
    return answer;
  }

  /** Ends every worker (the end of the run). */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    process.off('exit', this.onExit);
    const all = [...this.idle.map((i) => i.worker), ...this.busy];
    this.idle.length = 0;
    await Promise.all(all.map((w) => w.close()));
  }

  private killAllNow(): void {
    this.closing.abort();
    for (const i of this.idle) i.worker.killNow();
    for (const w of this.busy) w.killNow();
  }
}
