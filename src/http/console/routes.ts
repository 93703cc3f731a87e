/**
 * The web console's routes in `itop-cron serve`: GET / (the console), GET /task/<Class> (a task's run
 * history), POST /action (the buttons), and the static /console.js and /console.css. Pages and actions
 * need the cron page's login (HTTP Basic, an enabled iTop administrator, the same rate limit); an action
 * also needs the page's CSRF token and a request from this origin, checked before anything is written.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_MAX_AGE, DEFAULT_MAX_LATENESS } from '../../cli/statusCommand.js';
import { settingInt } from '../../config/php.js';
import { asyncErrors, recentDurations, runsPage } from '../../db/consoleQueries.js';
import { evaluateHealth, statusJson } from '../../ops/statusData.js';
import { clientIp, login, sendText, type CronPageContext } from '../cronPage.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { doAction, isAction } from './actions.js';
import { sameOrigin, type Csrf } from './csrf.js';
import { send, sendHtml, SECURITY_HEADERS } from './headers.js';
import type { LiveOutput } from './live.js';
import { mainPage, resultPage, taskPage } from './page.js';

export interface ConsoleContext extends CronPageContext {
  readonly csrf: Csrf;
  readonly live: LiveOutput;
}

/** Runs shown in each task's chart. */
const CHART_RUNS = 20;
/** Runs per page of a task's history. */
export const PAGE_SIZE = 50;
/** A form is a few hundred bytes; anything much larger is not one of ours. */
const MAX_FORM_BYTES = 16 * 1024;

/** True for the paths the console answers. */
export function isConsolePath(pathname: string): boolean {
  return pathname === '/' || pathname === '/action' || pathname === '/events' || pathname === '/console.js' || pathname === '/console.css' || pathname.startsWith('/task/');
}

/** The main page's HTML for `loginName`: the status, its health verdict, the charts and the async errors. */
export async function renderMain(ctx: ConsoleContext, loginName: string): Promise<string> {
  const report = await statusJson(ctx.db, ctx.config, ctx.clock, ctx.tasks, ctx.params);
  const health = evaluateHealth(report, {
    maxLatenessSeconds: settingInt(ctx.config.settings, 'itop_cron.status_max_lateness', DEFAULT_MAX_LATENESS),
    maxAgeSeconds: settingInt(ctx.config.settings, 'itop_cron.status_max_age', DEFAULT_MAX_AGE),
  });
  const classes = report.tasks.flatMap((t) => (t.className === null ? [] : [t.className]));
  const [recent, errors] = [await recentDurations(ctx.db, classes, CHART_RUNS), await asyncErrors(ctx.db, 50)];
  return mainPage({ login: loginName, token: ctx.csrf.token(loginName), report, health, recent, asyncErrors: errors });
}

async function task(ctx: ConsoleContext, res: ServerResponse, loginName: string, encoded: string, search: URLSearchParams): Promise<void> {
  let className: string;
  try {
    className = decodeURIComponent(encoded);
  } catch {
    sendText(res, 400, 'Bad request: the task name is not valid percent-encoding');
    return;
  }
  const pageText = search.get('page') ?? '1';
  const page = /^\d{1,6}$/.test(pageText) && Number(pageText) >= 1 ? Number(pageText) : 1;
  const report = await statusJson(ctx.db, ctx.config, ctx.clock, ctx.tasks, ctx.params);
  const status = report.tasks.find((t) => t.className === className);
  const { rows, total } = await runsPage(ctx.db, className, PAGE_SIZE, (page - 1) * PAGE_SIZE);
  if (status === undefined && total === 0) {
    sendText(res, 404, `Not found: no task '${className}' in the registry or the run history`);
    return;
  }
  sendHtml(res, 200, taskPage({ login: loginName, className, task: status, rows, total, page, pageSize: PAGE_SIZE }));
}

/** GET /events: the live output of this server's runs as server-sent events, until the browser leaves. */
function events(ctx: ConsoleContext, res: ServerResponse): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'X-Accel-Buffering': 'no' });
  // A comment first, so that the browser sees the stream open at once.
  res.write(': itop-cron live output\n\n');
  if (!ctx.live.listen(res)) res.end('event: busy\ndata: too many browsers are listening\n\n');
}

function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_FORM_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_FORM_BYTES ? undefined : new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

async function action(ctx: ConsoleContext, req: IncomingMessage, res: ServerResponse, loginName: string, user: Parameters<typeof doAction>[1]): Promise<void> {
  const ip = clientIp(req);
  const form = await readForm(req);
  if (form === undefined) return sendText(res, 413, 'Request too large');
  // Nothing is written unless the request comes from a console page of this server.
  if (!sameOrigin(req)) {
    ctx.log.warn({ ip, user: loginName, origin: req.headers.origin }, 'console: action refused, not from this origin');
    return sendText(res, 403, 'Forbidden: the request does not come from this console (Origin)');
  }
  if (!ctx.csrf.valid(loginName, form.get('token') ?? undefined)) {
    ctx.log.warn({ ip, user: loginName }, 'console: action refused, missing or wrong CSRF token');
    return sendText(res, 403, 'Forbidden: missing or wrong CSRF token, reload the console');
  }
  const name = form.get('action');
  if (!isAction(name)) return sendText(res, 400, `Unknown action '${name ?? ''}'`);
  const r = await doAction(ctx, user, name, form, ip);
  sendHtml(res, r.status, resultPage(loginName, r.title, r.text, r.output));
}

/** Answers one console request (the path is one of isConsolePath's). */
export async function serveConsole(ctx: ConsoleContext, req: IncomingMessage, res: ServerResponse, pathname: string, search: URLSearchParams): Promise<void> {
  if (pathname === '/console.js') return send(res, 200, 'text/javascript; charset=utf-8', CONSOLE_JS);
  if (pathname === '/console.css') return send(res, 200, 'text/css; charset=utf-8', CONSOLE_CSS);
  const method = pathname === '/action' ? 'POST' : 'GET';
  if (req.method !== method) return sendText(res, 405, `Method not allowed: use ${method}`, { Allow: method });
  const user = await login(ctx, req, res);
  if (user === undefined) return;
  if (pathname === '/') return sendHtml(res, 200, await renderMain(ctx, user.login));
  if (pathname === '/action') return action(ctx, req, res, user.login, user);
  if (pathname === '/events') return events(ctx, res);
  return task(ctx, res, user.login, pathname.slice('/task/'.length), search);
}
