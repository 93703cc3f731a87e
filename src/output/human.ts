/**
 * Durations and colours for the human views (`itop-cron status`): ages in the two largest units
 * (`8d 2h`, `15m`, `45s`), and ANSI colours only where a person reads them.
 */

/** Whole seconds as `45s`, `8m 5s`, `2h 10m`, `8d 2h`: two units at most, a zero second unit left out. */
export function humanDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const units: [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  const i = units.findIndex(([size]) => s >= size);
  if (i < 0) return '0s';
  const [size, unit] = units[i] ?? [1, 's'];
  const first = `${Math.floor(s / size)}${unit}`;
  const next = units[i + 1];
  if (next === undefined) return first;
  const rest = Math.floor((s % size) / next[0]);
  return rest === 0 ? first : `${first} ${rest}${next[1]}`;
}

/**
 * Colours on a terminal only: never when NO_COLOR is set to anything (no-color.org), always when
 * FORCE_COLOR is set to something other than 0, else when stdout is a TTY.
 */
export function colourWanted(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '') return force !== '0';
  return isTTY;
}

export type Tone = 'bad' | 'warn' | 'good';

const CODES: Record<Tone, string> = { bad: '31', warn: '33', good: '32' };

/** `text` in the tone's colour when `on`, unchanged otherwise. */
export function paint(on: boolean, tone: Tone, text: string): string {
  return on ? `\u001b[${CODES[tone]}m${text}\u001b[0m` : text;
}
