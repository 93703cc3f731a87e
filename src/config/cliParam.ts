/**
 * cron.php's reading of one command-line parameter and of a flag's value. No imports: the
 * executable shim (bin/itop-cron.js) reads `--status_only` with these same rules before it chooses what
 * to load.
 */

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The value of `--<name>=<value>` in `argv`; the last occurrence wins, a bare `--name` is ignored and
 * there is no `--name value` form. As with PCRE's `.`/`$`, the value stops at a newline and one final
 * newline is allowed.
 */
export function readCliParam(argv: readonly string[], name: string): string | undefined {
  const re = new RegExp(`^--${escapeRegExp(name)}=([^\\n]*)\\n?$`);
  let found: string | undefined;
  for (const arg of argv) {
    const m = re.exec(arg);
    if (m) found = m[1] ?? '';
  }
  return found;
}

/** PHP truthiness of a parameter: `"0"`, `""` and a missing value are false; `"false"` and `"no"` are true. */
export function phpTruthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0';
}

/** iTop's `parameter` filter, applied to verbose/debug/status_only. */
const PARAMETER_FILTER = /^[ A-Za-z0-9_=-]*$/;

/** A flag's value as `utils::ReadParam($name, false)` gives it: a value the filter rejects is false. */
export function flagValue(v: string | undefined): boolean {
  return v !== undefined && PARAMETER_FILTER.test(v) && phpTruthy(v);
}
