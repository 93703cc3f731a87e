/**
 * How an argument may appear in an error message. The documented crontab line sends stdout to a log
 * file, so a mistyped password (`--auth_pwd S3cret`, `--auth-pwd=S3cret`, `auth_pwd=S3cret`) must not be
 * copied there: a message names an option by its key only, never repeats a bare word unless it is one
 * of our own option names, and never shows the value of a key that looks like a secret.
 */

/** Keys whose value is a secret, in any spelling: auth_pwd, auth-pwd, -PASSWORD, db_pass, api_token... */
const SECRET_KEY = /(pwd|passw|pass$|pass[^a-z]|secret|token|credential|apikey|api_key|api-key|private)/i;

export function looksSecret(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** The key of `--key=value`, `-key=value` or `key=value` (dashes and all), without its value. */
export function argKey(arg: string): string {
  const eq = arg.indexOf('=');
  return eq < 0 ? arg : arg.slice(0, eq);
}

/** Lower case, dashes as underscores, leading dashes dropped: the spelling did-you-mean compares. */
function normalise(name: string): string {
  return name.replace(/^-+/, '').replace(/-/g, '_').toLowerCase();
}

/** Edit distance where swapping two neighbours (`lsit`) is one edit, as a typist makes it. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** The known option closest to `key` (dashes, case, a typo or two), or undefined when none is close. */
export function closestOption(key: string, known: Iterable<string>): string | undefined {
  const n = normalise(key);
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const score = normalise(k) === n ? 0 : distance(n, k);
    if (score < bestScore) {
      best = k;
      bestScore = score;
    }
  }
  return best !== undefined && bestScore <= Math.max(1, Math.min(2, Math.floor(best.length / 3))) ? best : undefined;
}

/**
 * ", did you mean --x=v?" for a misspelt `arg`, the value shown only when the key is not a secret's;
 * empty when nothing is close.
 */
export function didYouMean(arg: string, known: Iterable<string>): string {
  const key = argKey(arg);
  const best = closestOption(key, known);
  if (best === undefined) return '';
  const hasValue = arg.includes('=');
  const value = !hasValue ? '' : looksSecret(key) || looksSecret(best) ? '=...' : `=${arg.slice(arg.indexOf('=') + 1)}`;
  return `, did you mean --${best}${value}?`;
}

/**
 * An argument that is not an option, for a message: named when it is one of our option names (e.g.
 * `verbose` without its dashes), else by position only, as it may be a password typed after a space.
 */
export function describeWord(argv: readonly string[], index: number, known: Iterable<string>): string {
  const arg = argv[index] ?? '';
  const key = argKey(arg);
  const names = new Set(known);
  const previous = index > 0 ? argKey(argv[index - 1] ?? '') : '';
  const afterSecret = looksSecret(previous);
  if (!afterSecret && !looksSecret(key) && names.has(key)) {
    return `${arg.includes('=') ? `'${key}=...'` : `'${key}'`} (arguments are --name=value)`;
  }
  if (!afterSecret && names.has(normalise(key))) return `'${key}=...' (arguments are --name=value: --${normalise(key)}=...)`;
  if (!afterSecret && arg.includes('=') && closestOption(key, names) !== undefined) {
    return `'${key}=...' (arguments are --name=value${didYouMean(`--${arg}`, names).replace(', did you mean', ': did you mean')})`;
  }
  const after = previous.startsWith('-') ? ` after '${previous}'` : '';
  const hint = previous.startsWith('-') ? `; write --${normalise(previous)}=<value> as one argument` : '';
  return `number ${index + 1}${after} (arguments are --name=value${hint}; the argument itself is not shown)`;
}

/**
 * An option that is not known, for a message: its key only (never the value), with a did-you-mean.
 */
export function describeOption(arg: string, known: Iterable<string>): string {
  const key = argKey(arg);
  // A key made of odd characters may itself be pasted text: only a plain one is repeated.
  const shown = /^-{1,2}[A-Za-z0-9_.-]{1,64}$/.test(key) ? `'${key}'` : 'an option';
  return `${shown}${didYouMean(arg, known)}`;
}

/**
 * `--name value` → `--name=value` for the options in `names` (itop-cron's own: `serve --port 8089`), so
 * that the rest reads `--name=value` only. cron.php's arguments are not in `names`: they keep its form.
 */
export function joinSpacedValues(argv: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const name = /^--([A-Za-z0-9_]+)$/.exec(arg)?.[1];
    const next = argv[i + 1];
    if (name !== undefined && names.has(name) && next !== undefined && !next.startsWith('-')) {
      out.push(`--${name}=${next}`);
      i += 1;
    } else out.push(arg);
  }
  return out;
}
