/**
 * Dead man's switch pings, Healthchecks.io style: `<base>/start` when a run (or a task) starts, `<base>`
 * when it succeeds, `<base>/fail` when it fails. Each ping is bounded by a timeout, and a ping that fails
 * is logged: it never fails or delays a run (pings are queued and sent in the background, in order per
 * check, and awaited at the end of the run).
 */
import type { Logger } from 'pino';
import { coerceError } from '../errors.js';

export type PingKind = 'start' | 'success' | 'fail';

/** Bodies are cut: a ping carries a summary, not a log. */
const MAX_BODY = 10_000;

/** `<base>/start`, `<base>`, `<base>/fail` (a query string stays at the end). */
export function pingUrl(base: string, kind: PingKind): string {
  const url = new URL(base);
  const suffix = kind === 'success' ? '' : `/${kind}`;
  url.pathname = url.pathname.replace(/\/+$/, '') + suffix;
  return url.toString();
}

/** What a log line may say about a ping target: the host only, since the path is the check's secret. */
function target(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '?';
  }
}

/**
 * Sends one ping (POST, the body as text) and resolves to true on a 2xx answer. Never rejects: a
 * timeout, a refused connection or an error status is logged as a warning.
 */
export async function sendPing(url: string, body: string, timeoutMs: number, log: Logger): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      body: body.slice(0, MAX_BODY),
      headers: { 'content-type': 'text/plain; charset=utf-8', 'user-agent': 'itop-cron' },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'follow',
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.ok) {
      log.debug({ ping: target(url), status: res.status }, 'ping sent');
      return true;
    }
    log.warn({ ping: target(url), status: res.status }, 'ping refused (ignored)');
    return false;
  } catch (e) {
    const err = coerceError(e);
    const reason = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : ((err.cause as Error | undefined)?.message ?? err.message);
    log.warn({ ping: target(url), err: reason }, 'ping failed (ignored)');
    return false;
  }
}

export interface Pinger {
  /** Queues a ping; pings to one base URL are sent one after the other, in the order queued. */
  ping(base: string, kind: PingKind, body?: string): void;
  /** Resolves once every queued ping is done (each is bounded by the timeout). */
  drain(): Promise<void>;
  /** Pings answered 2xx / not, so far. */
  readonly stats: { sent: number; failed: number };
}

/** A pinger for one process run. */
export function createPinger(timeoutMs: number, log: Logger): Pinger {
  const chains = new Map<string, Promise<void>>();
  const stats = { sent: 0, failed: 0 };
  return {
    stats,
    ping(base, kind, body = '') {
      let url: string;
      try {
        url = pingUrl(base, kind);
      } catch {
        log.warn({ kind }, 'ping skipped: invalid URL');
        return;
      }
      const previous = chains.get(base) ?? Promise.resolve();
      const next = previous.then(async () => {
        if (await sendPing(url, body, timeoutMs, log)) stats.sent++;
        else stats.failed++;
      });
      chains.set(base, next);
    },
    async drain() {
      while (chains.size > 0) {
        const pending = [...chains.values()];
        await Promise.allSettled(pending);
        // Pings queued while waiting are chained on those: drop only what is settled and unchanged.
        for (const [base, p] of chains) if (pending.includes(p)) chains.delete(base);
      }
    },
  };
}
