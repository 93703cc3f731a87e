/**
 * Cross-site request forgery protection of the console's actions. The browser resends HTTP Basic
 * credentials to any request for the origin, also one a hostile page makes it send, so an action needs
 * two more things a foreign page cannot produce:
 * - a token: HMAC-SHA256 of the administrator's login under a secret drawn when the process starts
 *   (a restart invalidates the pages open before, which only costs a reload);
 * - an `Origin` (or, without one, `Referer`) header naming the server's own host.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface Csrf {
  token(login: string): string;
  valid(login: string, token: string | undefined): boolean;
}

export function createCsrf(secret: Buffer = randomBytes(32)): Csrf {
  const token = (login: string): string => createHmac('sha256', secret).update(`console:${login}`).digest('base64url');
  return {
    token,
    valid(login, given) {
      if (given === undefined) return false;
      const want = Buffer.from(token(login));
      const got = Buffer.from(given);
      return got.length === want.length && timingSafeEqual(got, want);
    },
  };
}

/**
 * True when the request comes from a page of this server: its Origin (else its Referer's origin) has the
 * request's own Host. A request carrying neither is refused: browsers send Origin on every POST form.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (host === undefined || host === '') return false;
  const origin = req.headers.origin ?? req.headers.referer;
  if (origin === undefined || origin === 'null') return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
