/**
 * The console's HTML, rendered on the server from the status (statusJson + evaluateHealth, the same data as
 * `itop-cron status`) and the run history. Plain HTML: readable without its script, which only adds
 * confirmations and the auto-refresh. Every value from the database goes through `h`.
 */
import { humanDuration } from '../../output/human.js';
import type { AsyncErrorRow, RecentDuration } from '../../db/consoleQueries.js';
import type { RunHistoryRow } from '../../db/runHistory.js';
import type { Health, StatusReport, TaskStatus } from '../../ops/statusData.js';
import { durationChart, muchSlower } from './chart.js';
import { h, pathPart } from './escape.js';

/** What the main page shows. */
export interface MainPageData {
  readonly login: string;
  readonly token: string;
  readonly report: StatusReport;
  readonly health: Health;
  readonly recent: ReadonlyMap<string, readonly RecentDuration[]>;
  readonly asyncErrors: readonly AsyncErrorRow[];
}

function layout(title: string, login: string, body: string, after = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<link rel="stylesheet" href="/console.css">
<script src="/console.js" defer></script>
</head>
<body>
<header><a href="/" class="home">itop-cron</a> <span class="who">${h(login)}</span></header>
<main id="content">
${body}
</main>
${after}</body>
</html>
`;
}

function seconds(v: number | null): string {
  return v === null ? '' : `${v.toFixed(3)} s`;
}

/** A button of an action form: its action, label, and the question the script asks before posting. */
export interface ActionButton {
  readonly action: string;
  readonly label: string;
  readonly confirm: string;
}

/**
 * A form posting to /action with the CSRF token, hidden `fields`, `extra` inputs and one submit button per
 * action (`name="action"`): the script asks for confirmation with the button's `data-confirm`.
 */
export function actionForm(token: string, fields: Readonly<Record<string, string>>, buttons: readonly ActionButton[], extra = ''): string {
  const hidden = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${h(k)}" value="${h(v)}">`)
    .join('');
  const submit = buttons
    .map((b) => `<button type="submit" name="action" value="${h(b.action)}" data-confirm="${h(b.confirm)}">${h(b.label)}</button>`)
    .join('');
  return `<form method="post" action="/action" class="act"><input type="hidden" name="token" value="${h(token)}">${hidden}${extra}${submit}</form>`;
}

function healthSection(report: StatusReport, health: Health): string {
  const verdict = health.ok
    ? '<p class="verdict ok" id="verdict">Healthy</p>'
    : `<p class="verdict ko" id="verdict">Unhealthy</p><ul class="problems">${health.problems.map((p) => `<li>${h(p)}</li>`).join('')}</ul>`;
  const holder = report.cron.lockHolder;
  const lock = report.cron.running
    ? `A cron holds the lock: connection ${h(report.cron.lockConnectionId)}${holder === null ? '' : ` (${h(holder.user)}@${h(holder.host)}, for ${h(humanDuration(holder.seconds))})`}`
    : 'No cron holds the lock';
  const last = report.cron.lastRun === null ? 'no task has ever run' : `last run ${h(report.cron.lastRun)} (${h(humanDuration(report.cron.lastRunAgeSeconds ?? 0))} ago)`;
  return `<section class="health">${verdict}<p id="lock">${lock}; ${last}.</p>` +
    `<p class="meta">Database ${h(report.database)}${report.prefix === '' ? '' : ` (prefix ${h(report.prefix)})`}, ${h(report.timezone)}, ${h(report.generatedAt)}</p></section>`;
}

/** Cluster mode: the runners with their heartbeats, and who holds which lease. */
function clusterSection(report: StatusReport): string {
  const c = report.cluster;
  if (c === null) return '';
  const runners = c.runners.map((r) => {
    const state = r.alive ? 'alive' : r.stopped !== null ? 'stopped' : 'silent';
    return `<tr class="runner ${state}"><td>${h(r.runner)}</td><td>${state}</td><td>${h(humanDuration(Math.floor(r.heartbeatAgeSeconds)))} ago</td><td>${h(r.started)}</td><td>${h(r.version)}</td></tr>`;
  });
  const leases = c.leases.map((l) => `<li>${h(l.name)}: ${h(l.runner)} (epoch ${h(l.epoch)})</li>`);
  return `<section class="cluster"><h2>Runners</h2><p class="meta">Cluster mode: leases live ${h(humanDuration(c.ttlSeconds))}, renewed every ${h(humanDuration(c.renewSeconds))}.</p>` +
    `<div class="scroll"><table id="runners"><thead><tr><th>Runner</th><th>State</th><th>Heartbeat</th><th>Started</th><th>Version</th></tr></thead><tbody>${runners.join('')}</tbody></table></div>` +
    `${leases.length === 0 ? '' : `<ul id="leases">${leases.join('')}</ul>`}</section>`;
}

function count(n: number | null): string {
  return n === null ? '—' : String(n);
}

function queueSection(d: MainPageData): string {
  const q = d.report.queues;
  const errors = d.asyncErrors.map((e) =>
    `<tr><td>#${h(e.id)}</td><td>${h(e.realclass)}</td><td>${h(e.last_attempt)}</td><td class="msg">${h(e.last_error)}</td>` +
      `<td>${actionForm(d.token, { id: String(e.id) }, [{ action: 'retry', label: 'Retry', confirm: `Retry async task #${String(e.id)}?` }])}</td></tr>`,
  );
  const table = errors.length === 0 ? '' :
    `<div class="scroll"><table class="errors"><thead><tr><th>Async task</th><th>Class</th><th>Last attempt</th><th>Error</th><th></th></tr></thead><tbody>${errors.join('')}</tbody></table></div>`;
  return `<section class="queues"><h2>Queues</h2><ul>` +
    `<li>Async tasks planned: <b id="q-planned">${count(q.asyncPlanned)}</b></li>` +
    `<li>Async tasks in error: <b id="q-error">${count(q.asyncError)}</b></li>` +
    `<li>Expired drafts waiting: inline images ${count(q.expiredInlineImages)}, attachments ${count(q.expiredAttachments)}</li>` +
    `</ul>${table}</section>`;
}

/** Cluster mode: the runner holding the task's lease right now. */
function runningOn(t: TaskStatus): string {
  return t.runningOn === undefined ? '' : ` <span class="on">on ${h(t.runningOn)}</span>`;
}

function taskRow(d: MainPageData, t: TaskStatus): string {
  const name = t.className ?? `registry row #${t.id} (class_name NULL)`;
  // A break opportunity after each namespace separator: Combodo\iTop\...\SessionGC wraps at its parts.
  const shown = h(name).replaceAll('\\', '\\<wbr>');
  const link = t.className === null ? shown : `<a href="/task/${pathPart(t.className)}">${shown}</a>`;
  const runs = [...(t.className === null ? [] : d.recent.get(t.className) ?? [])].reverse();
  const chart = durationChart(runs.map((r) => ({ seconds: Number(r.duration), ok: r.outcome === 'success', started: r.started })));
  const slow = muchSlower(t.durations.latest, t.durations.avg) ? ' <span class="slow" title="the latest run took much longer than the average">slower</span>' : '';
  // A task due this very second is not late (as in itop-cron status).
  const late = t.overdue && t.latenessSeconds > 0 ? `<span class="late">${h(humanDuration(t.latenessSeconds))} late</span>` : '';
  const actions: string[] = [];
  if (t.className !== null) {
    const task = { task: t.className };
    const buttons: ActionButton[] = [
      t.status === 'paused'
        ? { action: 'resume', label: 'Resume', confirm: `Resume ${t.className}?` }
        : { action: 'pause', label: 'Pause', confirm: `Pause ${t.className}? Neither itop-cron nor cron.php will run it.` },
    ];
    if (t.runner === 'native') buttons.push({ action: 'run', label: 'Run now', confirm: `Run ${t.className} now?` });
    actions.push(actionForm(d.token, task, buttons));
    // A form of its own: Enter in the date field must reschedule, not press the row's first button.
    actions.push(actionForm(d.token, task, [{ action: 'reschedule', label: 'Reschedule', confirm: `Reschedule ${t.className}?` }],
      '<input type="text" name="when" value="now" size="8" aria-label="when (now, +10m, Y-m-d H:i:s)">'));
  }
  return `<tr class="task status-${h(t.status)}" data-class="${h(t.className)}">` +
    `<td class="name">${link}</td><td class="status">${h(t.status)}</td><td>${h(t.runner)}${runningOn(t)}</td>` +
    `<td class="when">${h(t.lastRun)}</td><td class="when">${h(t.nextRun)} ${late}</td>` +
    `<td class="outcome ${h(t.lastOutcome)}">${h(t.lastOutcome)}</td><td class="msg">${h(t.lastMessage)}</td>` +
    `<td class="num">${seconds(t.durations.avg)}</td><td class="num">${seconds(t.durations.latest)}${slow}</td><td>${chart}</td>` +
    `<td class="actions">${actions.join('')}</td></tr>`;
}

/** GET /: health, lock, queues, and every task with its actions. */
export function mainPage(d: MainPageData): string {
  const head = ['Task', 'Status', 'Runner', 'Last run', 'Next run', 'Outcome', 'Message', 'Avg', 'Latest', 'Recent runs', 'Actions']
    .map((c) => `<th>${c}</th>`).join('');
  const rows = d.report.tasks.map((t) => taskRow(d, t)).join('\n');
  const tasks = `<section class="tasks"><h2>Tasks</h2><div class="scroll"><table id="tasks"><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table></div></section>`;
  // Outside #content, which the auto-refresh replaces: the live lines stay while the rest is refreshed.
  const live = '<section class="live"><h2>Live output</h2><p class="meta">The runs of this server (cron page, Run now), as they happen.</p><pre id="live" aria-live="polite"></pre></section>\n';
  return layout('itop-cron console', d.login, `${healthSection(d.report, d.health)}\n${tasks}\n${clusterSection(d.report)}${queueSection(d)}`, live);
}

/** What a task's page shows. */
export interface TaskPageData {
  readonly login: string;
  readonly className: string;
  readonly task: TaskStatus | undefined;
  readonly rows: readonly RunHistoryRow[];
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
}

/** GET /task/<Class>: the run history of one class, newest first, `pageSize` per page. */
export function taskPage(d: TaskPageData): string {
  const pages = Math.max(1, Math.ceil(d.total / d.pageSize));
  const base = `/task/${pathPart(d.className)}`;
  const nav = [
    d.page > 1 ? `<a rel="prev" href="${base}?page=${d.page - 1}">Newer</a>` : '',
    `<span class="pageno">page ${d.page} of ${pages}</span>`,
    d.page < pages ? `<a rel="next" href="${base}?page=${d.page + 1}">Older</a>` : '',
  ].join(' ');
  const rows = d.rows.map((r) =>
    `<tr><td>${h(r.started)}</td><td class="outcome ${h(r.outcome)}">${h(r.outcome)}</td><td>${h(Number(r.duration).toFixed(3))} s</td>` +
      `<td>${h(r.host)}</td><td class="msg">${h(r.message)}</td></tr>`,
  ).join('\n');
  const t = d.task;
  const summary = t === undefined ? '<p>Not in the registry.</p>' :
    `<p>Status ${h(t.status)}, runner ${h(t.runner)}, ${t.runCount} runs, next run ${h(t.nextRun)}; average ${seconds(t.durations.avg)}, latest ${seconds(t.durations.latest)}.</p>`;
  const body = `<h1>${h(d.className)}</h1>${summary}<p class="count">${d.total} runs recorded</p>` +
    `<table id="history"><thead><tr><th>Started</th><th>Outcome</th><th>Duration</th><th>Host</th><th>Message</th></tr></thead><tbody>\n${rows}\n</tbody></table>` +
    `<nav class="pages">${nav}</nav>`;
  return layout(`${d.className} — itop-cron console`, d.login, body);
}

/** The answer to an action: what was done (or why not), and the way back. */
export function resultPage(login: string, title: string, text: string, output = ''): string {
  const out = output === '' ? '' : `<pre class="output">${h(output)}</pre>`;
  return layout(title, login, `<h1>${h(title)}</h1><p id="result">${h(text)}</p>${out}<p><a href="/">Back to the console</a></p>`);
}
