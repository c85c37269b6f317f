import type { IncomingMessage } from 'node:http';
import { ManualClock } from '@app/core';
import { cookieOf, isSameOrigin, roleOfToken } from './dashboard-http';
import { DashboardSessions } from './dashboard-sessions';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('DashboardSessions', () => {
  it('opens sessions with random ids and CSRF tokens, found until they expire', () => {
    const clock = new ManualClock(1_000);
    const sessions = new DashboardSessions(clock, 60_000);
    const a = sessions.open('admin');
    const b = sessions.open('viewer');
    expect(a.id).not.toBe(b.id);
    expect(a.csrfToken).not.toBe(a.id);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessions.find(a.id)?.role).toBe('admin');
    clock.advance(59_999);
    expect(sessions.find(b.id)?.role).toBe('viewer');
    clock.advance(1);
    expect(sessions.find(a.id)).toBeUndefined();
    expect(sessions.size).toBe(1);
  });

  it('forgets a closed session, and knows no made-up id', () => {
    const sessions = new DashboardSessions(new ManualClock(0));
    const a = sessions.open('admin');
    sessions.close(a.id);
    expect(sessions.find(a.id)).toBeUndefined();
    expect(sessions.find('made-up')).toBeUndefined();
    expect(sessions.find(undefined)).toBeUndefined();
  });
});

describe('dashboard sign-in and request checks', () => {
  it('grants the admin or the viewer role by token, nothing otherwise', () => {
    const admin = 'admin-token-0123456789';
    const viewer = 'viewer-token-0123456789';
    expect(roleOfToken(admin, admin, viewer)).toBe('admin');
    expect(roleOfToken(viewer, admin, viewer)).toBe('viewer');
    expect(roleOfToken('admin-token-012345678', admin, viewer)).toBeUndefined();
    expect(roleOfToken(viewer, admin, undefined)).toBeUndefined();
  });

  it('reads one cookie among several', () => {
    expect(cookieOf(request({ cookie: 'a=1; dashboard_session=xyz; b=2' }), 'dashboard_session')).toBe('xyz');
    expect(cookieOf(request({ cookie: 'a=1' }), 'dashboard_session')).toBeUndefined();
  });

  it('accepts only posts whose Origin names this host, and none the browser calls cross-site', () => {
    const host = { host: 'ops.example:3000' };
    expect(isSameOrigin(request({ ...host, origin: 'http://ops.example:3000' }), true)).toBe(true);
    expect(isSameOrigin(request({ ...host, origin: 'https://ops.example:3000' }), true)).toBe(true);
    expect(isSameOrigin(request({ ...host, origin: 'http://ops.example:4000' }), true)).toBe(false);
    expect(isSameOrigin(request({ ...host, origin: 'https://evil.example' }), true)).toBe(false);
    expect(isSameOrigin(request({ ...host, origin: 'null' }), true)).toBe(false);
    expect(isSameOrigin(request(host), true)).toBe(false);
    expect(isSameOrigin(request(host), false)).toBe(true);
    const crossSite = { ...host, origin: 'http://ops.example:3000', 'sec-fetch-site': 'cross-site' };
    expect(isSameOrigin(request(crossSite), true)).toBe(false);
  });
});
