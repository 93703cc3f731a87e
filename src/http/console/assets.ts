/**
 * The console's script and style sheet, served as /console.js and /console.css so that the
 * Content-Security-Policy can forbid inline script and style. The script is plain ES2017 for any
 * current browser: a confirmation before each action, and the page's content refreshed every 15 s
 * without a reload (the same HTML fetched again: one rendering, on the server), and the live output of
 * the server's runs from /events (server-sent events), written as text, never as HTML.
 */

export const CONSOLE_JS = `'use strict';
(function () {
  function bind(root) {
    root.querySelectorAll('form.act').forEach(function (f) {
      f.addEventListener('submit', function (e) {
        var b = e.submitter || f.querySelector('button');
        var q = b && b.getAttribute('data-confirm');
        if (q && !window.confirm(q)) e.preventDefault();
      });
    });
  }
  function refresh() {
    if (document.hidden || document.activeElement && document.activeElement.tagName === 'INPUT') return;
    fetch(window.location.href, { credentials: 'same-origin', headers: { 'X-Console-Refresh': '1' } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var next = new DOMParser().parseFromString(html, 'text/html').getElementById('content');
        var here = document.getElementById('content');
        if (next && here) { here.replaceWith(next); bind(next); }
      })
      .catch(function () { /* the next tick tries again */ });
  }
  function live(pre) {
    var source = new EventSource('/events');
    source.onmessage = function (e) {
      var lines = (pre.textContent ? pre.textContent.split('\\n') : []).concat([e.data]);
      pre.textContent = lines.slice(-200).join('\\n');
      pre.scrollTop = pre.scrollHeight;
    };
    source.addEventListener('busy', function () { source.close(); });
  }
  document.addEventListener('DOMContentLoaded', function () {
    bind(document);
    var pre = document.getElementById('live');
    if (pre) live(pre);
    if (document.getElementById('tasks')) window.setInterval(refresh, 15000);
  });
})();
`;

export const CONSOLE_CSS = `body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #1b3a57; color: #fff; padding: .5em 1em; display: flex; justify-content: space-between; }
header a { color: #fff; font-weight: bold; text-decoration: none; }
main { padding: .5em 1em; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin: 1em 0 .3em; }
.verdict { font-size: 1.2em; font-weight: bold; margin: .3em 0; }
.ok, td.success { color: #176b2c; } .ko, td.failure, td.fatal, td.timeout { color: #b00020; }
.late, .slow { background: #fff0c2; color: #7a4b00; padding: 0 .3em; border-radius: 3px; white-space: nowrap; }
.meta { color: #666; font-size: .9em; }
.problems, #lock, .meta, #result { overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .4em; text-align: left; vertical-align: top; }
th { background: #eef2f6; white-space: nowrap; }
td.msg { min-width: 12em; max-width: 28em; overflow-wrap: anywhere; font-size: .9em; }
td.name { min-width: 12em; max-width: 22em; overflow-wrap: break-word; }
td.when, td.num { white-space: nowrap; }
td.when .late { display: block; width: fit-content; }
tr.status-paused td { color: #777; }
td.actions { min-width: 13em; }
form.act { display: inline-block; margin: 0 .2em .2em 0; white-space: nowrap; }
form.act input[type=text] { width: 6em; }
button { cursor: pointer; }
svg.chart path.ok { fill: #4a90c2; } svg.chart path.ko { fill: #d0342c; }
pre#live { background: #111; color: #eee; padding: .5em; max-height: 20em; overflow: auto; margin: 0 1em 1em; }
section.live h2, section.live p { margin-left: 1em; }
pre.output { background: #111; color: #eee; padding: .5em; overflow-x: auto; }
nav.pages { margin: .5em 0; }
@media (max-width: 700px) { #tasks th:nth-child(7), #tasks td.msg { display: none; } main { padding: .3em; } }
`;
