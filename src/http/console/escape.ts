/**
 * HTML escaping for the console. Every value that comes from the database (class names, task messages,
 * async task errors, hosts) goes through `h` before it reaches the page: an extension may name a class
 * `<script>`, and a task message can hold any text a failing task printed.
 */

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The text as HTML text or as a double- or single-quoted attribute value; null/undefined become ''. */
export function h(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** A path segment of a console URL (`/task/<Class>`): percent-encoded, then safe in an attribute too. */
export function pathPart(value: string): string {
  return h(encodeURIComponent(value));
}
