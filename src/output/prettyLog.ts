/**
 * The log as a person reads it on a terminal (issue 13): `18:24:10.339 INFO  cron lock acquired user=admin`
 * instead of pino's JSON. Used only when the log goes to stderr and stderr is a terminal; a file or a pipe
 * keeps the JSON lines that log tools read. No dependency: pino-pretty would add a dozen packages for this.
 */
import { isatty } from 'node:tty';
import { colourWanted } from './human.js';
import { stderrSink } from './safeDestination.js';

const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '90' },
  30: { name: 'INFO', colour: '32' },
  40: { name: 'WARN', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '1;31' },
};

/** pino's own keys, shown in the line's head or not at all (pid, hostname and name say nothing here). */
const HEAD_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

const two = (n: number): string => String(n).padStart(2, '0');

/** `HH:MM:SS.mmm` in the machine's zone, as the terminal's user lives. */
function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** A value as `key=value`: plain when it has no space or quote, JSON otherwise. */
function shown(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * One pino JSON line as text, with a trailing newline. An error's stack (pino's `err` serializer) follows
 * on indented lines. A line that is not pino's JSON is passed through unchanged.
 */
export function prettyLine(json: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  if (rec === null || typeof rec !== 'object') return `${json.trimEnd()}\n`;
  const level = LEVELS[Number(rec['level'])] ?? { name: String(rec['level']), colour: '0' };
  const paint = (code: string, s: string): string => (colour ? `\u001b[${code}m${s}\u001b[0m` : s);
  const head = `${paint('90', clockTime(Number(rec['time'] ?? Date.now())))} ${paint(level.colour, level.name.padEnd(5))}`;
  const msg = typeof rec['msg'] === 'string' ? rec['msg'] : '';
  let stack: string | undefined;
  const fields: string[] = [];
  for (const [key, value] of Object.entries(rec)) {
    if (HEAD_KEYS.has(key)) continue;
    const err = value as { message?: unknown; stack?: unknown } | null;
    if (err !== null && typeof err === 'object' && typeof err.stack === 'string') {
      stack = err.stack;
      fields.push(`${paint('90', `${key}=`)}${shown(err.message)}`);
      continue;
    }
    fields.push(`${paint('90', `${key}=`)}${shown(value)}`);
  }
  const text = [head, msg, ...fields].filter((s) => s !== '').join(' ');
  const tail = stack === undefined ? '' : `\n${stack.split('\n').map((l) => `    ${l.trim()}`).join('\n')}`;
  return `${text}${tail}\n`;
}

/** stderr, as text when it is a terminal (colours unless NO_COLOR), as JSON lines otherwise. */
export function stderrDestination(env: NodeJS.ProcessEnv = process.env): typeof stderrSink {
  if (!isatty(2)) return stderrSink;
  const colour = colourWanted(true, env);
  return {
    ...stderrSink,
    write: (chunk: string): boolean => stderrSink.write(prettyLine(chunk, colour)),
  };
}
