/**
 * `itop-cron serve`'s HTTP server (Node's `http`): the cron page at `/webservices/cron.php` and `/cron`,
 * and the web console at `/` (src/http/console/),
 * bound to 127.0.0.1 unless told otherwise. The configuration, the pool and the task list live as long as
 * the server; each request runs one execution, and the MySQL named lock keeps them one at a time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DEFAULT_FAILURE_DELAY_MS } from '../auth/authenticate.js';
import type { Config } from '../config/types.js';
import type { Db } from '../db/types.js';
import { loadTasks } from '../tasks/registry.js';
import type { BackgroundTask } from '../tasks/types.js';
import { createClock, type Clock } from '../time/clock.js';
import { createCsrf } from './console/csrf.js';
import { createLiveOutput } from './console/live.js';
import { isConsolePath, serveConsole, type ConsoleContext } from './console/routes.js';
import { sendText, serveCron, type CronPageContext } from './cronPage.js';
import { FailureLimiter, type RateLimitOptions } from './rateLimit.js';
import { parseRequestTarget } from './requestUrl.js';

/** The paths of the cron page: iTop's own, so a web cron service only changes the host, and a short one. */
export const CRON_PATHS: readonly string[] = ['/webservices/cron.php', '/cron'];

/** Options of startServer. */
export interface ServerOptions {
  readonly config: Config;
  /** The pool, kept for the server's lifetime; the caller closes it after stop(). */
  readonly db: Db;
  readonly log: Logger;
  /** Address to bind. Default 127.0.0.1: only local clients (a reverse proxy) reach the page. */
  readonly host?: string;
  /** Port; 0 picks a free one (see CronServer.port). Default 0. */
  readonly port?: number;
  /** Tasks to run; default: loaded once from the configuration (built-in and extensions). */
  readonly tasks?: readonly BackgroundTask[];
  /** Parameters passed to tasks (mysql_bindir, task_grace_seconds...); never credentials. */
  readonly params?: Readonly<Record<string, string>>;
  /** Default: a clock in the configured time zone. */
  readonly clock?: Clock;
  /** Failed logins wait this long before the 401 (ms). Default 1000, as on the command line. */
  readonly loginFailureDelayMs?: number;
  /** Failed logins per client IP before 429. Default 5 per minute. */
  readonly rateLimit?: RateLimitOptions;
}

/** A started server. */
export interface CronServer {
  readonly host: string;
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /** Executions running now. */
  running(): number;
  /**
   * Stops accepting requests, lets running executions end for up to `graceMs`, then aborts them (they stop
   * as on SIGTERM: no new task, lock released) and resolves once they have ended and the server is closed.
   * Does not close the pool.
   */
  stop(graceMs?: number): Promise<void>;
}

/** A request that failed after routing: 500 while nothing was sent, else the connection is cut. */
function failed(ctx: CronPageContext, res: ServerResponse, e: unknown): void {
  ctx.log.error({ err: e instanceof Error ? e.message : String(e) }, 'web cron: request failed');
  if (!res.headersSent) sendText(res, 500, 'iTop: An error occurred, check server error log for more information.');
  else res.destroy();
}

/**
 * Routes one request; a target that cannot be read is 400, everything but the cron page 404, every method
 * but GET 405. Nothing a request contains may throw out of here: an exception in a request handler ends
 * the process, and with it the runs of other requests.
 */
function handler(ctx: ConsoleContext, isStopping: () => boolean) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    try {
      const target = parseRequestTarget(req.url);
      if (target === undefined) return sendText(res, 400, 'Bad request: the request target is not a valid path', { Connection: 'close' });
      if (isConsolePath(target.pathname)) {
        if (isStopping()) return sendText(res, 503, 'itop-cron is stopping', { Connection: 'close' });
        serveConsole(ctx, req, res, target.pathname, target.searchParams).catch((e: unknown) => failed(ctx, res, e));
        return;
      }
      if (!CRON_PATHS.includes(target.pathname)) return sendText(res, 404, 'Not found: the cron page is /webservices/cron.php');
      if (req.method !== 'GET') return sendText(res, 405, 'Method not allowed: use GET', { Allow: 'GET' });
      if (isStopping()) return sendText(res, 503, 'itop-cron is stopping', { Connection: 'close' });
      serveCron(ctx, req, res, target.searchParams).catch((e: unknown) => failed(ctx, res, e));
    } catch (e) {
      failed(ctx, res, e);
    }
  };
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Starts the web mode server and resolves once it listens.
 * @throws the listen error (EADDRINUSE, EACCES...) or a task loading error.
 */
export async function startServer(opts: ServerOptions): Promise<CronServer> {
  const host = opts.host ?? '127.0.0.1';
  const running = new Set<AbortController>();
  const ended = new EventTarget();
  let stopping = false;
  const ctx: ConsoleContext = {
    csrf: createCsrf(),
    live: createLiveOutput(),
    config: opts.config,
    db: opts.db,
    log: opts.log,
    clock: opts.clock ?? createClock(opts.config.timezone),
    tasks: opts.tasks ?? (await loadTasks(opts.config)),
    params: opts.params ?? {},
    limiter: new FailureLimiter(opts.rateLimit),
    loginFailureDelayMs: opts.loginFailureDelayMs ?? DEFAULT_FAILURE_DELAY_MS,
    track: (controller) => {
      running.add(controller);
      return () => {
        running.delete(controller);
        ended.dispatchEvent(new Event('ended'));
      };
    },
  };
  const server = createServer(handler(ctx, () => stopping));
  // A socket error (a reset, a malformed request Node's parser refuses) is that client's problem only:
  // answer 400 when the socket can still take it, and go on serving the others.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code !== 'ECONNRESET') ctx.log.debug({ err: err.message }, 'web cron: malformed request');
    if (socket.writable && !socket.writableEnded) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  const address = await listen(server, opts.port ?? 0, host);
  const allEnded = (): Promise<void> =>
    running.size === 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const check = (): void => {
            if (running.size > 0) return;
            ended.removeEventListener('ended', check);
            resolve();
          };
          ended.addEventListener('ended', check);
        });
  return {
    host,
    port: address.port,
    url: `http://${address.family === 'IPv6' ? `[${host}]` : host}:${address.port}`,
    running: () => running.size,
    async stop(graceMs = 0) {
      stopping = true;
      // The console's event streams never end by themselves: end them, or closing would wait for them.
      ctx.live.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = new AbortController();
      await Promise.race([allEnded(), delay(graceMs, undefined, { signal: timer.signal }).catch(() => undefined)]);
      timer.abort();
      for (const c of running) c.abort(new Error('itop-cron serve is stopping'));
      await allEnded();
      // Every response has ended; what remains are keep-alive sockets, idle now or in a moment.
      server.closeIdleConnections();
      const stragglers = setTimeout(() => server.closeAllConnections(), 1000);
      await closed;
      clearTimeout(stragglers);
    },
  };
}
