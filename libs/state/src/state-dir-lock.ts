import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from './atomic-file';

/** Who holds STATE_DIR: written at start, renewed while running, removed at a graceful stop. */
export interface StateDirOwner {
  host: string;
  pid: number;
  token: string;
  started_at: number;
  renewed_at: number;
}

export interface StateDirLockOptions {
  host: string;
  pid: number;
  now: () => number;
  /** Whether a process with this id runs on this host. */
  isAlive: (pid: number) => boolean;
  renewEveryMs: number;
  /** A lease not renewed for this long belongs to a process that is gone. */
  staleAfterMs: number;
  /** Renewal trouble (a failed write, a lease another process took): for the log. */
  onProblem: (message: string) => void;
}

export type LockDecision = { take: true; why: string } | { take: false; why: string };

/**
 * Whether this process may take STATE_DIR from the owner on file. Two processes on one STATE_DIR
 * trade one account twice and write one ledger from two places (each renames files the other
 * still appends to), so a live owner is refused. The same process id on the same host is an earlier
 * run of this container (pid 1 again after a restart); a dead pid or a lease nobody renewed is gone.
 */
export function lockDecision(
  owner: StateDirOwner | undefined,
  me: { host: string; pid: number },
  now: number,
  staleAfterMs: number,
  isAlive: (pid: number) => boolean,
): LockDecision {
  if (owner === undefined) return { take: true, why: 'no owner' };
  const age = now - owner.renewed_at;
  const fresh = age < staleAfterMs;
  const seconds = `${Math.round(age / 1000)} s ago`;
  if (owner.host === me.host) {
    if (owner.pid === me.pid)
      return { take: true, why: `an earlier run with this process id (renewed ${seconds})` };
    if (!isAlive(owner.pid)) return { take: true, why: `pid ${owner.pid} is not running` };
    if (!fresh) return { take: true, why: `pid ${owner.pid} runs but stopped renewing (${seconds})` };
    return { take: false, why: `pid ${owner.pid} on this host holds it (renewed ${seconds})` };
  }
  if (!fresh) return { take: true, why: `the lease of ${owner.host} expired (renewed ${seconds})` };
  return { take: false, why: `pid ${owner.pid} on ${owner.host} holds it (renewed ${seconds})` };
}

/** The lock file `STATE_DIR/owner.json`: one trading process per STATE_DIR (and so per account). */
export class StateDirLock {
  readonly path: string;
  private readonly token = randomUUID();
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly dir: string,
    private readonly options: StateDirLockOptions,
  ) {
    this.path = join(dir, 'owner.json');
  }

  /** Take the lock or throw an Error naming who holds it and what to do. Returns why it could be taken. */
  async acquire(): Promise<string> {
    const { host, pid, now, staleAfterMs, isAlive } = this.options;
    const owner = await this.read();
    const decision = lockDecision(owner, { host, pid }, now(), staleAfterMs, isAlive);
    if (!decision.take)
      throw new Error(
        `STATE_DIR ${this.dir} is in use: ${decision.why}. One process per account: stop that one first; ` +
          `if it is gone, delete ${this.path}.`,
      );
    this.startedAt = now();
    await this.write();
    this.timer = setInterval(() => void this.renew(), this.options.renewEveryMs);
    this.timer.unref();
    return decision.why;
  }

  /** Rewrite the lease, unless another process has taken it meanwhile (then say so, loudly). */
  async renew(): Promise<void> {
    try {
      const owner = await this.read();
      if (owner !== undefined && owner.token !== this.token) {
        this.options.onProblem(
          `STATE_DIR ${this.dir} was taken over by pid ${owner.pid} on ${owner.host}: two processes may now trade one account`,
        );
        return;
      }
      await this.write();
    } catch (error) {
      this.options.onProblem(`could not renew the STATE_DIR lease ${this.path}: ${String(error)}`);
    }
  }

  /** At a graceful stop: the next start need not wait for anything. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const owner = await this.read().catch(() => undefined);
    if (owner?.token === this.token) await unlink(this.path).catch(() => undefined);
  }

  private async read(): Promise<StateDirOwner | undefined> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return undefined;
    try {
      const value = JSON.parse(text) as Partial<StateDirOwner>;
      if (
        typeof value.host === 'string' &&
        typeof value.pid === 'number' &&
        typeof value.token === 'string' &&
        typeof value.renewed_at === 'number'
      )
        return { started_at: value.renewed_at, ...value } as StateDirOwner;
    } catch {
      // A damaged lock file says nothing about a live owner: treated as none (below).
    }
    this.options.onProblem(`ignoring a damaged lock file ${this.path}`);
    return undefined;
  }

  private write(): Promise<void> {
    const { host, pid, now } = this.options;
    const owner: StateDirOwner = {
      host,
      pid,
      token: this.token,
      started_at: this.startedAt,
      renewed_at: now(),
    };
    return writeFileAtomic(this.path, `${JSON.stringify(owner)}\n`);
  }
}

/** `isAlive` for this host: signal 0 checks that the process exists (EPERM: it does, not ours). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
