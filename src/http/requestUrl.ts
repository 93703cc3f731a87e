/**
 * The path and query of a request target, read without ever throwing. `new URL('//%/', base)` throws
 * (the target is taken for a scheme-relative URL with an invalid host), and any byte sequence can arrive
 * from the network: a target that cannot be read is answered 400 by the caller, never an exception that
 * would end the server and every run in progress with it.
 */
export interface RequestTarget {
  readonly pathname: string;
  readonly searchParams: URLSearchParams;
}

const PATH = /^(?:[-!$&'()*+,./0-9:;=@A-Z_a-z~]|%[0-9A-Fa-f]{2})*$/;

/** The target of `GET <target> HTTP/1.1` as path and query, or undefined when it is not a readable path. */
export function parseRequestTarget(target: string | undefined): RequestTarget | undefined {
  const raw = target ?? '/';
  // Only origin-form targets (`/path?query`) are served; absolute-form and `*` are not cron page requests.
  if (!raw.startsWith('/')) return undefined;
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  // RFC 3986 path characters and well-formed %XX escapes only: `//%/` is not a path, it is a bad request.
  if (!PATH.test(rawPath)) return undefined;
  // The path is resolved against a fixed origin, so `//host/...` stays a path instead of naming a host.
  let url: URL;
  try {
    url = new URL(`http://localhost${rawPath.replace(/^\/+/, '/')}`);
  } catch {
    return undefined;
  }
  // URLSearchParams never throws: malformed escapes are kept as they are.
  return { pathname: url.pathname, searchParams: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}
