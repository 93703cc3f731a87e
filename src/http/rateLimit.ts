/**
 * Failed logins per client, over a sliding window: web mode is reachable by anyone who can reach the port,
 * so password guessing must stay slow. Each attempt is counted when it starts and forgiven when it
 * succeeds, so that parallel guesses cannot all slip in before the first failure is recorded.
 */

/** Limits of the failure counter. */
export interface RateLimitOptions {
  /** Failed logins allowed per client within `windowMs`; the next attempt is refused (HTTP 429). Default 5. */
  readonly max?: number;
  /** The window, in ms. Default 60 000. */
  readonly windowMs?: number;
  /** The clock (ms); tests may pass their own. */
  readonly now?: () => number;
}

/** Above this many tracked clients, expired entries are swept so that memory stays bounded. */
const SWEEP_THRESHOLD = 1000;

/** Counts failed logins per key (the client's IP address). */
export class FailureLimiter {
  readonly max: number;
  readonly windowMs: number;
  private readonly now: () => number;
  private readonly hits = new Map<string, number[]>();

  constructor(opts: RateLimitOptions = {}) {
    this.max = opts.max ?? 5;
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Starts a login attempt for `key`. Returns false, recording nothing, when `key` already has `max`
   * failures (or attempts in progress) in the window: the caller answers 429 without checking anything.
   */
  attempt(key: string): boolean {
    const live = this.live(key);
    if (live.length >= this.max) return false;
    live.push(this.now());
    this.hits.set(key, live);
    if (this.hits.size > SWEEP_THRESHOLD) this.sweep();
    return true;
  }

  /** The attempt succeeded (right password): it does not count as a failure. */
  succeeded(key: string): void {
    const live = this.hits.get(key);
    live?.pop();
    if (live?.length === 0) this.hits.delete(key);
  }

  /** Seconds until `key` may try again (at least 1). */
  retryAfterSeconds(key: string): number {
    const oldest = this.live(key)[0];
    if (oldest === undefined) return 1;
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  private live(key: string): number[] {
    const since = this.now() - this.windowMs;
    return (this.hits.get(key) ?? []).filter((t) => t > since);
  }

  private sweep(): void {
    for (const key of [...this.hits.keys()]) {
      if (this.live(key).length === 0) this.hits.delete(key);
    }
  }
}
