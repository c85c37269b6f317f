import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DashboardRole } from './dashboard-sessions';

export const SESSION_COOKIE = 'dashboard_session';
export const CSRF_HEADER = 'x-csrf-token';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Constant-time equality (both sides hashed, so the length leaks nothing either). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The role a sign-in token grants, or undefined. Both comparisons always run. */
export function roleOfToken(
  token: string,
  adminToken: string,
  viewerToken: string | undefined,
): DashboardRole | undefined {
  const admin = sameSecret(token, adminToken);
  const viewer = viewerToken !== undefined && sameSecret(token, viewerToken);
  return admin ? 'admin' : viewer ? 'viewer' : undefined;
}

/** A cookie's value from the Cookie header. */
export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** Behind a TLS-terminating proxy the cookie is marked Secure too. */
function isHttps(req: IncomingMessage): boolean {
  return (
    req.headers['x-forwarded-proto'] === 'https' ||
    ('encrypted' in req.socket && req.socket.encrypted === true)
  );
}

export function sessionCookie(req: IncomingMessage, id: string, maxAgeMs: number): string {
  const secure = isHttps(req) ? '; Secure' : '';
  return `${SESSION_COOKIE}=${id}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}${secure}`;
}

export function clearedSessionCookie(req: IncomingMessage): string {
  const secure = isHttps(req) ? '; Secure' : '';
  return `${SESSION_COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0${secure}`;
}

/**
 * A state-changing request comes from this service's own pages: its Origin names the host it was
 * sent to, and the browser did not flag it as cross-site. `requireOrigin`: a missing Origin is
 * refused too (browsers always send it on a POST; the sign-in accepts its absence for scripts).
 */
export function isSameOrigin(req: IncomingMessage, requireOrigin: boolean): boolean {
  const fetchSite = req.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return !requireOrigin;
  const host = req.headers.host;
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    // "null" (a sandboxed frame, a file) or garbage: not our page.
    return false;
  }
}

/** Headers of every dashboard answer: a strict CSP (no inline script or style), no framing, no sniffing. */
export const DASHBOARD_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  // Not no-referrer: with it the browser sends `Origin: null` on our own form posts, which the Origin check refuses.
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};
