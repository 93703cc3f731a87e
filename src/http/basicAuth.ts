/**
 * HTTP Basic authentication (RFC 7617): the only way web mode takes credentials. cron.php's web mode also
 * accepted `auth_user`/`auth_pwd` in the URL (when `url` logins were allowed), which puts the password in
 * access logs and browser history; itop-cron refuses that.
 */

/** The credentials carried by an `Authorization: Basic ...` header. */
export interface BasicCredentials {
  readonly user: string;
  readonly password: string;
}

/** The realm announced in `WWW-Authenticate`; UTF-8 so that non-ASCII logins and passwords work. */
export const BASIC_CHALLENGE = 'Basic realm="itop-cron", charset="UTF-8"';

/**
 * Reads `Authorization: Basic <base64(user:password)>`. The scheme is case-insensitive; the user ends at
 * the first colon (a password may contain colons, a login may not). Returns undefined when the header is
 * missing, uses another scheme or is not valid base64 of `user:password`.
 */
export function parseBasicAuth(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The header value a client sends for `user`/`password` (tests, documentation examples). */
export function basicAuthHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
