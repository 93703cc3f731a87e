/** One line of the results table, and its rendering on the terminal and in bench/RESULTS.md. */

export interface ResultRow {
  /** What is measured (with the data size). */
  readonly figure: string;
  /** itop-cron's value, with its unit. */
  readonly value: string;
  /** The floor's value measured in the same run, or '—' when the target is absolute. */
  readonly floor: string;
  /** itop-cron ÷ floor (or the ratio the target is about), NaN when none. */
  readonly ratio: number;
  readonly target: string;
  /** undefined when the figure is informative only. */
  readonly pass: boolean | undefined;
}

const HEAD = ['figure', 'itop-cron', 'floor', 'ratio', 'target', 'met'] as const;

function cells(r: ResultRow): string[] {
  return [
    r.figure,
    r.value,
    r.floor,
    // NaN went through JSON as null (bench/results.json).
    typeof r.ratio !== 'number' || !Number.isFinite(r.ratio) ? '—' : `${r.ratio.toFixed(2)}×`,
    r.target,
    r.pass === undefined ? '' : r.pass ? 'yes' : 'NO',
  ];
}

/** A fixed-width table for the terminal. */
export function textTable(rows: readonly ResultRow[]): string {
  const all = [[...HEAD], ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]): string => c.map((s, i) => s.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(all[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** The same table in Markdown. */
export function markdownTable(rows: readonly ResultRow[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ].join('\n');
}

/** MiB with one decimal, from KiB. */
export const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
