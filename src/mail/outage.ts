/**
 * A mail server that cannot be reached is the server's problem, not the messages': ExecAsyncTask gives the
 * mail back to the queue untouched and pauses sending, with a backoff of 2 s doubling up to 5 min, until
 * the server answers. The outage is stored in itop-cron's own state table, so that a new run (a new
 * process, every minute from crontab) keeps the backoff instead of hammering the server, and so that
 * `itop-cron status` and the metrics can show it.
 *
 * Only an SMTP failure that says nothing about the message counts as the server's: no connection (refused,
 * DNS, timeout), a connection lost before the server accepted the message, TLS or login refused, or a 421
 * ("closing transmission channel"). A reply about this message (5xx/4xx to MAIL, RCPT or DATA) is the
 * message's, and follows iTop's retry policy as before.
 */
import type { Logger } from 'pino';
import { deleteState, readState, writeState } from '../db/ownState.js';
import type { Db } from '../db/types.js';
import type { Clock } from '../time/clock.js';
import { MailSendError } from './sendError.js';

/** The name of the row in `{p}itop_cron_state`. */
export const OUTAGE_STATE = 'mail_outage';

const FIRST_DELAY_S = 2;
const MAX_DELAY_S = 300;

/** nodemailer's codes for a server that cannot be reached or talked to. */
const SERVER_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EAUTH']);

/** An ongoing outage; times are epoch ms. */
export interface MailOutage {
  /** The first failure of the outage. */
  readonly since: number;
  /** Consecutive failed tries. */
  readonly failures: number;
  /** No mail is sent before this. */
  readonly nextTry: number;
  /** The last failure's message (never holds the SMTP password: MailSendError removes it). */
  readonly error: string;
}

/** The pause after `failures` consecutive failures: 2, 4, 8 ... seconds, at most 300. */
export function backoffSeconds(failures: number): number {
  const n = Math.max(1, Math.min(Math.floor(failures), 30));
  return Math.min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (n - 1));
}

/** True when the send failed because of the server, not because of the message. */
export function isServerFailure(e: unknown): boolean {
  if (!(e instanceof MailSendError)) return false;
  if (e.code !== undefined && SERVER_CODES.has(e.code)) return true;
  return e.responseCode === 421;
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** The stored outage; undefined when there is none (or the stored text is not one, which is treated alike). */
export async function readMailOutage(db: Db): Promise<MailOutage | undefined> {
  const text = await readState(db, OUTAGE_STATE);
  if (text === undefined) return undefined;
  let v: Partial<MailOutage>;
  try {
    v = JSON.parse(text) as Partial<MailOutage>;
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || !finite(v.since) || !finite(v.failures) || !finite(v.nextTry)) return undefined;
  return { since: v.since, failures: v.failures, nextTry: v.nextTry, error: typeof v.error === 'string' ? v.error : '' };
}

/** The outage as the status shows it: iTop-local dates. */
export interface MailOutageStatus {
  since: string;
  nextTry: string;
  failures: number;
  lastError: string;
  /** Seconds since the first failure. */
  durationSeconds: number;
}

/** The stored outage for `itop-cron status` and the metrics; null when the mail server is not known to be down. */
export async function mailOutageStatus(db: Db, clock: Clock): Promise<MailOutageStatus | null> {
  const o = await readMailOutage(db);
  if (o === undefined) return null;
  return {
    since: clock.format(o.since),
    nextTry: clock.format(o.nextTry),
    failures: o.failures,
    lastError: o.error,
    durationSeconds: Math.max(0, Math.floor((clock.nowMs() - o.since) / 1000)),
  };
}

/** What the gate needs of a task context. */
export interface OutageContext {
  readonly db: Db;
  readonly clock: Clock;
  readonly log: Pick<Logger, 'info' | 'warn'>;
}

/** The outage as one ExecAsyncTask pass sees it: read at the first mail due, written only when it changes. */
export interface MailOutageGate {
  /** What is known without reading: true when this pass already knows that sending is paused. */
  knownPaused(): boolean;
  /** True while the backoff runs (reads the stored outage the first time). */
  paused(): Promise<boolean>;
  /** The server failed: one more failure, the next try after the backoff. */
  serverFailed(e: unknown): Promise<void>;
  /** The server answered (the mail went, or was refused for itself): the outage, if any, is over. */
  answered(): Promise<void>;
}

export function mailOutageGate(ctx: OutageContext): MailOutageGate {
  let loaded = false;
  let state: MailOutage | undefined;
  const load = async (): Promise<void> => {
    if (loaded) return;
    state = await readMailOutage(ctx.db);
    loaded = true;
  };
  const now = (): number => ctx.clock.nowMs();
  return {
    knownPaused: () => state !== undefined && now() < state.nextTry,
    async paused() {
      await load();
      return state !== undefined && now() < state.nextTry;
    },
    async serverFailed(e) {
      await load();
      const t = now();
      const failures = (state?.failures ?? 0) + 1;
      const delay = backoffSeconds(failures);
      const error = e instanceof Error ? e.message : String(e);
      state = { since: state?.since ?? t, failures, nextTry: t + delay * 1000, error };
      await writeState(ctx.db, OUTAGE_STATE, JSON.stringify(state), ctx.clock.format(t));
      ctx.log.warn(
        { since: ctx.clock.format(state.since), failures, retryIn: delay, code: e instanceof MailSendError ? e.code : undefined },
        `Mail server unreachable since ${ctx.clock.format(state.since)} (${error}): the mail stays queued, ` +
          `no attempt counted; sending paused for ${delay}s, next try at ${ctx.clock.format(state.nextTry)}`,
      );
    },
    async answered() {
      await load();
      if (state === undefined) return;
      const down = Math.round((now() - state.since) / 1000);
      state = undefined;
      await deleteState(ctx.db, OUTAGE_STATE);
      ctx.log.info({ downSeconds: down }, `Mail server reachable again after ${down}s: sending resumed`);
    },
  };
}
