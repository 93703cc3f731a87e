/**
 * The small duration chart of a task's recent runs: one bar per run, oldest on the left, height relative
 * to the slowest shown, red for a run that did not succeed. Inline SVG, so it needs no script and no image.
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
  const step = WIDTH / runs.length;
  const bars = runs.map((r, i) => {
    const bar = Math.max(1, Math.round((r.seconds / max) * HEIGHT));
    const cls = r.ok ? 'ok' : 'ko';
    return `<rect class="${cls}" x="${(i * step).toFixed(1)}" y="${HEIGHT - bar}" width="${Math.max(1, step - 1).toFixed(1)}" height="${bar}"><title>${h(r.started)}: ${r.seconds.toFixed(3)} s</title></rect>`;
  });
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="durations of the last ${runs.length} runs">${bars.join('')}</svg>`;
}

/** True when the latest run took much longer than the average: at least twice, and one second more. */
export function muchSlower(latest: number | null, avg: number | null): boolean {
  return latest !== null && avg !== null && latest >= 2 * avg && latest - avg >= 1;
}
