/**
 * Failed logins over a sliding window: web mode is reachable by anyone who can reach the port, so password
 * guessing must stay slow, from one address and from many.
 *
 * - Per address: `max` failures in the window, then 429 for that address.
 * - All addresses together: `globalMax` failures in the window, then 429 for every address that has not
 *   logged in successfully within `trustMs`: guesses spread over many addresses (a /8 of IPv4, any IPv6
 *   /64) meet the same wall, while the web cron service that logged in before keeps working.
 * - Only failures count. So that simultaneous guesses cannot all be checked before the first failure is
 *   recorded, a login in progress holds one of the remaining failures: when none is left, the next login
 *   waits for one in progress to end (a success gives its place back, a failure spends it), and is refused
 *   only once the failures themselves reach the limit. Twenty simultaneous right logins all get in.
 */

/** Limits of the failure counter. */
export interface RateLimitOptions {
  /** Failed logins allowed per client within `windowMs`; the next attempt is refused (HTTP 429). Default 5. */
  readonly max?: number;
  /** Failed logins allowed from all clients together within `windowMs`. Default 20. */
  readonly globalMax?: number;
  /** The window, in ms. Default 60 000. */
  readonly windowMs?: number;
  /** A client that logged in successfully is exempt from the global limit for this long (ms). Default 1 h. */
  readonly trustMs?: number;
  /** The clock (ms); tests may pass their own. */
  readonly now?: () => number;
}

/** One login being checked; exactly one of its methods ends it (later calls are ignored). */
export interface LoginTicket {
  /** The right password of an administrator: not a failure, and the client is trusted for a while. */
  succeeded(): void;
  /** Wrong credentials: one failure for the client and for the global budget. */
  failed(): void;
  /** Neither (the password was right but the account may not run the cron, or the check broke). */
  released(): void;
}

/** Above this many tracked clients, expired entries are swept so that memory stays bounded. */
const SWEEP_THRESHOLD = 1000;
/** Logins allowed to wait for a place; beyond, refused at once (memory and sockets stay bounded). */
const MAX_WAITING = 100;

/** Counts failed logins per key (the client's IP address) and for all keys together. */
export class FailureLimiter {
  readonly max: number;
  readonly globalMax: number;
  readonly windowMs: number;
  private readonly trustMs: number;
  private readonly now: () => number;
  private readonly hits = new Map<string, number[]>();
  private globalHits: number[] = [];
  private readonly inFlight = new Map<string, number>();
  /** Logins in progress of untrusted clients: each holds a place of the global budget. */
  private globalInFlight = 0;
  private readonly trusted = new Map<string, number>();
  private waiting: Array<() => void> = [];

  constructor(opts: RateLimitOptions = {}) {
    this.max = opts.max ?? 5;
    this.globalMax = opts.globalMax ?? 20;
    this.windowMs = opts.windowMs ?? 60_000;
    this.trustMs = opts.trustMs ?? 3_600_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Starts a login for `key`: resolves with its ticket once it may be checked, or undefined when the
   * failures of `key`, or of everyone for an untrusted `key`, reached their limit (answer 429 without
   * checking anything).
   */
  async begin(key: string): Promise<LoginTicket | undefined> {
    for (;;) {
      const failures = this.live(key).length;
      const trusted = this.isTrusted(key);
      const global = trusted ? 0 : this.globalLive().length;
      if (failures >= this.max || (!trusted && global >= this.globalMax)) return undefined;
      const mine = this.inFlight.get(key) ?? 0;
      if (failures + mine < this.max && (trusted || global + this.globalInFlight < this.globalMax)) return this.start(key, trusted);
      if (this.waiting.length >= MAX_WAITING) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** Seconds until `key` may try again (at least 1). */
  retryAfterSeconds(key: string): number {
    const own = this.live(key);
    const oldest = own.length >= this.max || this.isTrusted(key) ? own[0] : this.globalLive()[0];
    if (oldest === undefined) return 1;
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  private start(key: string, trusted: boolean): LoginTicket {
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    if (!trusted) this.globalInFlight++;
    let ended = false;
    const end = (outcome: 'success' | 'failure' | 'none'): void => {
      if (ended) return;
      ended = true;
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left > 0) this.inFlight.set(key, left);
      else this.inFlight.delete(key);
      if (!trusted) this.globalInFlight--;
      const t = this.now();
      if (outcome === 'failure') {
        this.hits.set(key, [...this.live(key), t]);
        this.globalHits = [...this.globalLive(), t];
      } else if (outcome === 'success') {
        this.trusted.set(key, t);
      }
      if (this.hits.size > SWEEP_THRESHOLD || this.trusted.size > SWEEP_THRESHOLD) this.sweep();
      // Every waiting login looks again: a place may be free, or the limit reached.
      for (const wake of this.waiting.splice(0)) wake();
    };
    return { succeeded: () => end('success'), failed: () => end('failure'), released: () => end('none') };
  }

  private isTrusted(key: string): boolean {
    const at = this.trusted.get(key);
    return at !== undefined && this.now() - at < this.trustMs;
  }

  private live(key: string): number[] {
    const since = this.now() - this.windowMs;
    return (this.hits.get(key) ?? []).filter((t) => t > since);
  }

  private globalLive(): number[] {
    const since = this.now() - this.windowMs;
    this.globalHits = this.globalHits.filter((t) => t > since);
    return this.globalHits;
  }

  private sweep(): void {
    for (const key of [...this.hits.keys()]) {
      if (this.live(key).length === 0) this.hits.delete(key);
    }
    for (const key of [...this.trusted.keys()]) {
      if (!this.isTrusted(key)) this.trusted.delete(key);
    }
  }
}

/**
 * The key a client's failures are counted under: its IPv4 address (also when it comes IPv4-mapped,
 * `::ffff:1.2.3.4`, from a dual-stack socket), or the /64 of its IPv6 address: one host usually holds a
 * whole /64, so counting exact IPv6 addresses would give it 2^64 budgets. Anything unreadable is its own key.
 */
export function clientKey(address: string): string {
  const a = address.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!a.includes(':')) return a;
  const halves = a.split('::');
  if (halves.length > 2) return a;
  const groups = (text: string | undefined): string[] =>
    text === undefined || text === '' ? [] : text.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const all = halves.length === 2 ? [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail] : head;
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return a;
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
