/**
 * The console's security headers. The page runs no inline script and loads nothing from elsewhere, so the
 * policy allows only its own origin: an injected `<script>` (should escaping ever miss one) does not run,
 * and the page cannot be framed (clickjacking of the action buttons).
 *
 * Referrer-Policy is `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null`
 * with the console's own form posts, and the Origin check of the actions could no longer tell them from a
 * foreign page's. `same-origin` still sends nothing to any other site.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const SECURITY_HEADERS: OutgoingHttpHeaders = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/** A complete answer with the security headers. */
export function send(res: ServerResponse, status: number, type: string, body: string, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendHtml(res: ServerResponse, status: number, body: string): void {
  send(res, status, 'text/html; charset=utf-8', body);
}
