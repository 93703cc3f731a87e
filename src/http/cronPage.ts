/**
 * The web page equivalent of calling iTop's webservices/cron.php through the web server: HTTP Basic login
 * of an iTop administrator, then one cron execution whose text is streamed as it is produced (cron.php
 * buffers it until the end), bounded by `cron_max_execution_time` like the command line.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import { authenticate, type CronUser } from '../auth/authenticate.js';
import { flagGates } from '../cli/startup.js';
import { runCron } from '../cli/runCron.js';
import { flagValue } from '../config/cliParam.js';
import type { Config, RunOptions } from '../config/types.js';
import type { Db } from '../db/types.js';
import { coerceError, CronError, EXIT_ERROR } from '../errors.js';
import { memorySink, whenDrained, type TextSink } from '../output/stdout.js';
import type { BackgroundTask } from '../tasks/types.js';
import { createRunOps } from '../ops/runOps.js';
import { statusJson } from '../ops/statusData.js';
import type { Clock } from '../time/clock.js';
import { BASIC_CHALLENGE, parseBasicAuth } from './basicAuth.js';
import type { LiveOutput } from './console/live.js';
import { clientKey, type FailureLimiter } from './rateLimit.js';

/** What the page needs, built once when the server starts. */
export interface CronPageContext {
  readonly config: Config;
  readonly db: Db;
  readonly log: Logger;
  readonly clock: Clock;
  readonly tasks: readonly BackgroundTask[];
  /** Parameters of the server (parameter files, command line) passed to tasks, credentials removed. */
  readonly params: Readonly<Record<string, string>>;
  readonly limiter: FailureLimiter;
  /** Failed logins wait this long (ms) before the 401, as on the command line. */
  readonly loginFailureDelayMs: number;
  /** Where the text of this server's runs is copied for the console's live view (src/http/console/live.ts). */
  readonly live?: LiveOutput;
  /** Registers a running execution so that stopping the server can wait for it or abort it; returns its end. */
  readonly track: (controller: AbortController) => () => void;
}

/** The flags a request may set, read as cron.php reads them. */
export interface CronQuery {
  readonly verbose: boolean;
  readonly debug: boolean;
  readonly statusOnly: boolean;
  /** `format=json`: with `status_only=1`, the status as data (itop-cron status --json). */
  readonly json: boolean;
}

/** The trailer carrying cron.php's exit code at the end of a streamed run (the status line is sent first). */
export const EXIT_CODE_TRAILER = 'X-Itop-Cron-Exit-Code';

/** Query keys refused with 400, and why. Prefix match, so that `auth_pwd[]` is refused too. */
const REFUSED: readonly (readonly [string, string])[] = [
  ['auth_user', 'Credentials are not accepted in the URL (they end up in access logs): use HTTP Basic authentication'],
  ['auth_pwd', 'Credentials are not accepted in the URL (they end up in access logs): use HTTP Basic authentication'],
  ['param_file', 'param_file cannot be chosen by a request: itop-cron serve reads its parameter files when it starts'],
];

/** A flag of the query string: the last occurrence wins, then as on the command line (flagValue). */
function flag(q: URLSearchParams, name: string): boolean {
  const all = q.getAll(name);
  return flagValue(all[all.length - 1]);
}

/**
 * Reads `verbose`, `debug` and `status_only` from the query string; other keys are ignored (web cron
 * services add their own), except credentials and `param_file`, which are refused.
 */
export function readCronQuery(q: URLSearchParams): CronQuery | { readonly error: string } {
  for (const key of q.keys()) {
    const refused = REFUSED.find(([name]) => key.toLowerCase().startsWith(name));
    if (refused !== undefined) return { error: refused[1] };
  }
  const formats = q.getAll('format');
  return {
    verbose: flag(q, 'verbose'),
    debug: flag(q, 'debug'),
    statusOnly: flag(q, 'status_only'),
    json: formats[formats.length - 1] === 'json',
  };
}

const TEXT_HEADERS: OutgoingHttpHeaders = {
  'Content-Type': 'text/plain; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

/** A complete short text answer (errors, refusals). */
export function sendText(res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders = {}): void {
  const body = text.endsWith('\n') || text === '' ? text : `${text}\n`;
  res.writeHead(status, { ...TEXT_HEADERS, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** A TextSink over the response: every line is written (one chunk) as soon as cron.php's logic produces it. */
export function responseSink(res: ServerResponse): TextSink {
  const write = (text: string): void => {
    // A client gone away must not turn the rest of the run into write errors.
    if (!res.destroyed && !res.writableEnded) res.write(text);
  };
  return { line: (text) => write(`${text}\n`), raw: write, drained: () => whenDrained(res) };
}

/** The client's address (its /64 for IPv6), the key of the failed-login counter. */
export function clientIp(req: IncomingMessage): string {
  return clientKey(req.socket.remoteAddress ?? 'unknown');
}

/**
 * Checks the Basic credentials and answers 401/403/429/500 itself when they do not let the request in.
 * Returns the user when they do.
 */
export async function login(ctx: CronPageContext, req: IncomingMessage, res: ServerResponse): Promise<CronUser | undefined> {
  const creds = parseBasicAuth(req.headers.authorization);
  const challenge = { 'WWW-Authenticate': BASIC_CHALLENGE };
  if (creds === undefined) {
    sendText(res, 401, 'Authentication required: HTTP Basic authentication of an iTop administrator', challenge);
    return undefined;
  }
  const ip = clientIp(req);
  const ticket = await ctx.limiter.begin(ip);
  if (ticket === undefined) {
    ctx.log.warn({ ip }, 'web cron: too many failed logins, request refused');
    const wait = ctx.limiter.retryAfterSeconds(ip);
    sendText(res, 429, `Too many failed logins: retry in ${wait} s`, { 'Retry-After': String(wait) });
    return undefined;
  }
  try {
    const user = await authenticate(ctx.db, creds.user, creds.password, ctx.loginFailureDelayMs);
    ticket.succeeded();
    return user;
  } catch (e) {
    if (e instanceof CronError && (e.code === 'EAUTH' || e.code === 'EAUTHKIND')) {
      ticket.failed();
      // The precise reason (unknown user, LDAP account...) goes to the log only: the page must not tell
      // a guesser which logins exist.
      ctx.log.warn({ ip, login: creds.user, reason: e.message }, 'web cron: login refused');
      sendText(res, 401, `Access wrong credentials ('${creds.user}')`, challenge);
    } else if (e instanceof CronError && e.code === 'ENOTADMIN') {
      ticket.released(); // the password was right: not a guess
      ctx.log.warn({ ip, login: creds.user }, 'web cron: not an administrator');
      sendText(res, 403, e.message);
    } else {
      ticket.released();
      ctx.log.error({ ip, err: coerceError(e).message }, 'web cron: login failed');
      sendText(res, 500, 'iTop: An error occurred, check server error log for more information.');
    }
    return undefined;
  }
}

/** cron.php's options for one request: the request's flags, the server's parameters, no credentials. */
function requestOptions(ctx: CronPageContext, query: CronQuery, user: CronUser): RunOptions {
  return {
    authUser: user.login,
    authPwd: undefined,
    verbose: query.verbose,
    debug: query.debug,
    statusOnly: query.statusOnly,
    paramFiles: [],
    passwordOnCommandLine: false,
    raw: ctx.params,
  };
}

/**
 * Answers one request of `GET /webservices/cron.php` (or `/cron`): 400 for credentials or `param_file` in
 * the URL, 503 under a maintenance or read-only flag, 401/403/429 for logins, else 200 and the streamed run.
 */
export async function serveCron(ctx: CronPageContext, req: IncomingMessage, res: ServerResponse, search: URLSearchParams): Promise<void> {
  const query = readCronQuery(search);
  if ('error' in query) {
    sendText(res, 400, query.error);
    return;
  }
  const gate = memorySink();
  if (flagGates(ctx.config.appRoot, gate) !== undefined) {
    sendText(res, 503, gate.text(), { 'Retry-After': '60' });
    return;
  }
  const user = await login(ctx, req, res);
  if (user === undefined) return;
  if (query.statusOnly && query.json) {
    const report = await statusJson(ctx.db, ctx.config, ctx.clock, ctx.tasks);
    const body = `${JSON.stringify(report, null, 2)}\n`;
    res.writeHead(200, { ...TEXT_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }

  res.writeHead(200, { ...TEXT_HEADERS, 'X-Accel-Buffering': 'no', Trailer: EXIT_CODE_TRAILER });
  res.flushHeaders();
  const controller = new AbortController();
  // The client hanging up stops the run as SIGTERM stops the command: no more tasks, lock released.
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the web client disconnected'));
  });
  const untrack = ctx.track(controller);
  try {
    const code = await execute(ctx, query, user, res, controller.signal, clientIp(req));
    if (!res.destroyed && !res.writableEnded) {
      res.addTrailers({ [EXIT_CODE_TRAILER]: String(code) });
      res.end();
    }
    // The execution counts as running until its last byte is handed over, so that stopping the server
    // never cuts the end of a response.
    await finished(res).catch(() => undefined);
  } finally {
    untrack();
  }
}

/** Runs one execution into the response and returns cron.php's exit code. */
async function execute(
  ctx: CronPageContext,
  query: CronQuery,
  user: CronUser,
  res: ServerResponse,
  signal: AbortSignal,
  ip: string,
): Promise<number> {
  const out = ctx.live?.tee(responseSink(res)) ?? responseSink(res);
  ctx.log.info({ ip, user: user.login, ...query }, 'web cron: execution started');
  let code: number;
  // The same bookkeeping as a command-line run: history, pings, failure mail (the server has no metrics port of its own).
  const ops = createRunOps({ config: ctx.config, db: ctx.db, clock: ctx.clock, log: ctx.log, params: ctx.params, tasks: ctx.tasks, serveMetrics: false });
  try {
    code = await runCron({
      options: requestOptions(ctx, query, user),
      config: ctx.config,
      db: ctx.db,
      clock: ctx.clock,
      log: ctx.log,
      out,
      signal,
      tasks: ctx.tasks,
      user,
      observer: ops.observer,
    });
  } catch (e) {
    const err = coerceError(e);
    out.line(`ERROR: '${err.message}'`);
    ctx.log.error({ ip, err: err.message }, 'web cron: execution failed');
    code = e instanceof CronError ? e.exitCode : EXIT_ERROR;
  } finally {
    await ops.close();
  }
  ctx.log.info({ ip, user: user.login, exitCode: code, aborted: signal.aborted }, 'web cron: execution ended');
  return code;
}
