import { randomBytes } from 'node:crypto';
import type { Clock } from '@app/core';

/** What a dashboard sign-in grants: the admin acts (halt, resume), a viewer only sees. */
export type DashboardRole = 'admin' | 'viewer';

export interface DashboardSession {
  /** Opaque random id, the cookie's value: never the token that signed in. */
  id: string;
  role: DashboardRole;
  /** Sent back in the X-CSRF-Token header of every state-changing call. */
  csrfToken: string;
  expiresAt: number;
}

/** A working day: an operator signs in once in the morning. */
export const DASHBOARD_SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Sessions kept at most: signing in again and again cannot grow memory without bound. */
const MAX_SESSIONS = 10_000;

const randomId = (): string => randomBytes(32).toString('base64url');

/**
 * Dashboard sessions, in memory: a restart signs everybody out, which is acceptable for an
 * operator page and keeps no credential on disk. Expired sessions are dropped when met or pruned.
 */
export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>();
  /** What must end with a session (its live streams): run when it is closed or found expired. */
  private readonly endings = new Map<string, Set<() => void>>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = DASHBOARD_SESSION_TTL_MS,
  ) {}

  open(role: DashboardRole): DashboardSession {
    this.pruneExpired();
    // Map order is insertion order: the oldest session goes first.
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next();
      if (oldest.done === true) break;
      this.end(oldest.value);
    }
    const session: DashboardSession = {
      id: randomId(),
      role,
      csrfToken: randomId(),
      expiresAt: this.clock.now() + this.ttlMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  find(id: string | undefined): DashboardSession | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.clock.now()) {
      this.end(id);
      return undefined;
    }
    return session;
  }

  close(id: string | undefined): void {
    if (id !== undefined) this.end(id);
  }

  /** `ending` runs when the session is closed (sign-out) or ends (expired); the answer unregisters it. */
  onEnd(session: DashboardSession, ending: () => void): () => void {
    const set = this.endings.get(session.id) ?? new Set<() => void>();
    set.add(ending);
    this.endings.set(session.id, set);
    return () => {
      set.delete(ending);
      if (set.size === 0 && this.endings.get(session.id) === set) this.endings.delete(session.id);
    };
  }

  private end(id: string): void {
    this.sessions.delete(id);
    const endings = this.endings.get(id);
    this.endings.delete(id);
    for (const ending of endings ?? []) ending();
  }

  get size(): number {
    return this.sessions.size;
  }

  private pruneExpired(): void {
    const now = this.clock.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.end(id);
  }
}
