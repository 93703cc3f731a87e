/**
 * The small duration chart of a task's recent runs: one bar per run, oldest on the left, height relative
 * to the slowest shown, red for a run that did not succeed (one `M` of a path per bar). Inline SVG, so it needs no script and no image.
 */
import { h } from './escape.js';

export interface ChartRun {
  readonly seconds: number;
  readonly ok: boolean;
  readonly started: string;
}

const WIDTH = 120;
const HEIGHT = 24;

/** The SVG for `runs` (oldest first); '' when there is no run. */
export function durationChart(runs: readonly ChartRun[]): string {
  if (runs.length === 0) return '';
  const max = Math.max(...runs.map((r) => r.seconds), 0.001);
  // Whole pixels, and one path per colour rather than an element per bar: the page holds a chart per task.
  const step = Math.max(2, Math.floor(WIDTH / runs.length));
  const paths: Record<'ok' | 'ko', string[]> = { ok: [], ko: [] };
  runs.forEach((r, i) => {
    const bar = Math.max(1, Math.round((r.seconds / max) * HEIGHT));
    paths[r.ok ? 'ok' : 'ko'].push(`M${i * step} ${HEIGHT}v-${bar}h${step - 1}v${bar}z`);
  });
  const bars = (['ok', 'ko'] as const).filter((k) => paths[k].length > 0).map((k) => `<path class="${k}" d="${paths[k].join('')}"/>`);
  // One title for the chart, not one per bar: 50 tasks × 20 bars of titles would double the page.
  const secs = runs.map((r) => r.seconds);
  const title = `last ${runs.length} runs since ${runs[0]?.started ?? ''}: ${Math.min(...secs).toFixed(3)} s to ${max.toFixed(3)} s`;
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img"><title>${h(title)}</title>${bars.join('')}</svg>`;
}

/** True when the latest run took much longer than the average: at least twice, and one second more. */
export function muchSlower(latest: number | null, avg: number | null): boolean {
  return latest !== null && avg !== null && latest >= 2 * avg && latest - avg >= 1;
}
