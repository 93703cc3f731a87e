/**
 * cron.php's text output, byte for byte. Pure functions returning lines without
 * the trailing newline; the caller writes them to stdout.
 */

/** A row of `priv_backgroundtask` as the tables show it. */
export interface TaskRowView {
  /** NULL in a damaged registry row: printed empty, as PHP prints null. */
  class_name: string | null;
  status: string | null;
  latest_run_date: string | null;
  next_run_date: string | null;
  total_exec_count?: number | string | null;
  average_run_duration?: string | null;
}

/** PHP `%-N.Ns`: left-justified, padded and truncated to N. */
function fixed(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s.padEnd(n, ' ');
}

/** PHP `%-Ns` with a custom pad character: padded, never truncated. */
function padded(s: string, n: number, pad = ' '): string {
  return s.padEnd(n, pad);
}

const BORDER4 = '+---------------------------+---------+---------------------+---------------------+';
const HEADER4 = '| Task Class                | Status  | Last Run            | Next Run            |';
const BORDER6 = `${BORDER4}--------+-----------+`;
const HEADER6 = `${HEADER4} Nb Run | Avg. Dur. |`;

function rowStart(r: TaskRowView): string {
  return `| ${fixed(r.class_name ?? '', 25)} | ${padded(r.status ?? '', 7)} | ${padded(r.latest_run_date ?? '', 19)} | ${padded(r.next_run_date ?? '', 19)} |`;
}

/** The 4-column table of due tasks printed in verbose mode. */
export function dueTasksTable(rows: readonly TaskRowView[]): string[] {
  return [BORDER4, HEADER4, BORDER4, ...rows.map(rowStart), BORDER4];
}

/**
 * The 6-column table of itop-cron's own views (`status`, `task list`): cron.php's layout, but the class
 * column as wide as the longest name, so that a namespaced class is shown whole (the name `task` needs).
 */
export function wideStatusTable(rows: readonly TaskRowView[]): string[] {
  const extra = Math.max(0, ...rows.map((r) => (r.class_name ?? '').length - 25));
  const border = `+-${'-'.repeat(25 + extra)}${BORDER6.slice(27)}`;
  const header = `| ${'Task Class'.padEnd(25 + extra)}${HEADER6.slice(27)}`;
  const body = statusTable(rows.map((r) => ({ ...r, class_name: '' }))).slice(3, -1);
  const lines = body.map((l, i) => `| ${(rows[i]?.class_name ?? '').padEnd(25 + extra)}${l.slice(27)}`);
  return [border, header, border, ...lines, border];
}

/** One row of DisplayStatus's 6-column table. */
export function statusLine(r: TaskRowView): string {
  const count = Math.trunc(Number(r.total_exec_count ?? 0)) || 0;
  return `${rowStart(r)} ${String(count).padStart(6, ' ')} | ${(r.average_run_duration ?? '0.000').padStart(7, ' ')} s |`;
}

/** The lines of DisplayStatus's table before its rows, and after them (for a table written row by row). */
export const STATUS_HEAD: readonly string[] = [BORDER6, HEADER6, BORDER6];
export const STATUS_FOOT: readonly string[] = [BORDER6];

/** DisplayStatus: the 6-column table of `--status_only` and of the end of a verbose run. */
export function statusTable(rows: readonly TaskRowView[]): string[] {
  return [...STATUS_HEAD, ...rows.map(statusLine), ...STATUS_FOOT];
}

/** `>> === <date> Starting: <Class> ====...` */
export function taskStartLine(date: string, className: string): string {
  return `>> === ${date} Starting:${padded(` ${className} `, 49, '=')}`;
}

/** `<< === <date> End of:   <Class> ====... Next: <next>` */
export function taskEndLine(date: string, className: string, next: string | null): string {
  return `<< === ${date} End of:  ${padded(` ${className} `, 42, '=')} Next: ${next ?? ''}`;
}

/** `-- Skipping task: <Class> ----... until: <next>` */
export function skippingLine(className: string | null, next: string | null): string {
  return `-- Skipping task: ${padded(`${className ?? ''} `, 40, '-')} until: ${next ?? ''}`;
}

/** `Starting: <unix> (<Y-m-d H:i:s>)` / `Exiting: ...` */
export function stampLine(word: 'Starting' | 'Exiting', unix: number, local: string): string {
  return `${word}: ${unix} (${local})`;
}

/**
 * The usage block cron.php prints after a missing argument, as lines: cron.php's layout, with the command
 * the administrator actually runs.
 */
export function missingArgumentLines(name: string): string[] {
  return [
    `ERROR: Missing argument '${name}'`,
    '',
    'USAGE:',
    '',
    'itop-cron --auth_user=<login> --auth_pwd=<password> [--param_file=<file>] [--verbose=1] [--debug=1] [--status_only=1]',
    '',
  ];
}

/**
 * How cron.php prints a task's return value after `<Class>: `: PHP's empty() hides '', '0', false and null;
 * true prints as '1'.
 */
export function messageText(message: string | boolean | null | undefined): string | undefined {
  if (message === true) return '1';
  if (message === false || message === null || message === undefined) return undefined;
  const s = String(message);
  return s === '' || s === '0' ? undefined : s;
}
