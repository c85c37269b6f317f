import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from './atomic-file';
import { tryLockFile, type HeldFileLock } from './os-file-lock';

/** Who holds STATE_DIR (`owner.json`): for messages and for hosts whose filesystem shares no locks. */
export interface StateDirOwner {
  host: string;
  pid: number;
  token: string;
  started_at: number;
  renewed_at: number;
  /** Grows at every renewal: another host sees a live holder by watching it change, whatever the clocks say. */
  renewals: number;
}

export interface StateDirLockOptions {
  host: string;
  pid: number;
  now: () => number;
  /** Waits while another host's lease is watched; injected so tests need not sleep. */
  sleep: (ms: number) => Promise<void>;
  /** Runs the renewal every `renewEveryMs` (the scheduler's `every`). */
  every: (ms: number, run: () => void) => () => void;
  renewEveryMs: number;
  /**
   * How long another host's lease is watched for a renewal before it is taken; and how long this
   * process may fail to renew its own before it must assume another host took the volume.
   */
  leaseTtlMs: number;
  /** Renewal trouble (a failed write): for the log. */
  onProblem: (message: string) => void;
  /** Another process took STATE_DIR over: this one must stop trading at once. */
  onLost: (message: string) => void;
}

export type LeaseVerdict = { take: true; why: string } | { take: false; why: string };

/**
 * Whether the lease on file may be taken once this process holds the OS lock. On one host the OS
 * lock is the whole truth: its holder is gone. Another host's lease is the one thing the lock may
 * not cover (a filesystem that shares no locks between hosts), so it is always watched for one
 * lease period first: its `renewed_at` is that host's clock, and no clock of another host is
 * trusted to say it is old (one running behind would make a live holder look dead).
 */
export function leaseVerdict(
  owner: StateDirOwner | undefined,
  me: { host: string },
  now: number,
): LeaseVerdict {
  if (owner === undefined) return { take: true, why: 'no earlier owner' };
  const seconds = `${Math.round((now - owner.renewed_at) / 1000)} s ago by its clock`;
  if (owner.host === me.host) return { take: true, why: `pid ${owner.pid} is gone (renewed ${seconds})` };
  return {
    take: false,
    why: `the lease of pid ${owner.pid} on ${owner.host} (renewed ${seconds}) was watched`,
  };
}

/**
 * One trading process per STATE_DIR, because two would trade one account twice and write one
 * ledger from two places. Ownership is an fcntl lock on `owner.lock` that the kernel releases when
 * the holder dies (see os-file-lock.ts), plus a lease in `owner.json` renewed every `renewEveryMs`,
 * which names the holder in messages and guards the one case the lock may miss: a volume taken
 * over from another host on a filesystem that does not share locks.
 */
export class StateDirLock {
  readonly path: string;
  readonly lockPath: string;
  private readonly token = randomUUID();
  private startedAt = 0;
  private renewals = 0;
  private cancelRenewal: (() => void) | undefined;
  private held: HeldFileLock | undefined;
  private lost = false;
  private releasing = false;
  private renewing: Promise<void> | undefined;
  /** When this process last wrote its lease: renewals failing for a whole lease period mean it may be lost. */
  private renewedAt = 0;

  constructor(
    readonly dir: string,
    private readonly options: StateDirLockOptions,
  ) {
    this.path = join(dir, 'owner.json');
    this.lockPath = join(dir, 'owner.lock');
  }

  /** Take STATE_DIR or throw an Error naming who holds it. Returns why it could be taken. */
  async acquire(): Promise<string> {
    const held = await tryLockFile(this.lockPath);
    if (held === 'held') throw this.inUse(await this.describeHolder());
    try {
      const why = await this.takeLease();
      this.held = held;
      return why;
    } catch (error) {
      await held.release();
      throw error;
    }
  }

  /** Rewrite the lease, unless another process has taken it meanwhile: then this one has lost STATE_DIR. */
  renew(): Promise<void> {
    this.renewing ??= this.renewOnce().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async renewOnce(): Promise<void> {
    if (this.lost || this.releasing || this.held === undefined) return;
    try {
      const owner = await this.read();
      if (owner !== undefined && owner.token !== this.token) {
        this.lost = true;
        this.stopRenewing();
        this.options.onLost(
          `STATE_DIR ${this.dir} was taken over by pid ${owner.pid} on ${owner.host}; this process must not trade it any more`,
        );
        return;
      }
      if (this.releasing) return;
      await this.write();
    } catch (error) {
      this.options.onProblem(`could not renew the STATE_DIR lease ${this.path}: ${String(error)}`);
      const unrenewedMs = this.options.now() - this.renewedAt;
      if (unrenewedMs >= this.options.leaseTtlMs) {
        // Another host watching this lease would take the volume by now: trading on is trading twice.
        this.lost = true;
        this.stopRenewing();
        this.options.onLost(
          `STATE_DIR ${this.dir}: the lease could not be renewed for ${Math.round(unrenewedMs / 1000)} s; another host may have taken it over, so this process must not trade any more`,
        );
      }
    }
  }

  /** At a graceful stop: remove the lease (the next start need not look at it) and drop the lock. */
  async release(): Promise<void> {
    this.releasing = true;
    this.stopRenewing();
    await this.renewing; // a renewal in flight must not write the lease after it is removed
    const held = this.held;
    this.held = undefined;
    if (held === undefined) return;
    try {
      const owner = await this.read().catch(() => undefined);
      if (owner?.token === this.token) await unlink(this.path).catch(() => undefined);
    } finally {
      await held.release();
    }
  }

  private async takeLease(): Promise<string> {
    const { host, now, leaseTtlMs, sleep } = this.options;
    const found = await this.read();
    const verdict = leaseVerdict(found, { host }, now());
    if (!verdict.take) {
      // Watch for one lease period: a live holder renews in it, a dead one cannot.
      const watchUntil = now() + leaseTtlMs;
      while (now() < watchUntil) {
        await sleep(Math.min(500, Math.max(1, watchUntil - now())));
        const current = await this.read();
        if (current !== undefined && (current.token !== found?.token || current.renewals !== found.renewals))
          throw this.inUse(
            `pid ${current.pid} on ${current.host} holds it and renews its lease (this filesystem does not share locks between hosts)`,
          );
      }
    }
    this.startedAt = now();
    await this.write();
    this.cancelRenewal = this.options.every(this.options.renewEveryMs, () => void this.renew());
    return verdict.take
      ? verdict.why
      : `${verdict.why} for ${Math.round(leaseTtlMs / 1000)} s and not renewed`;
  }

  private stopRenewing(): void {
    this.cancelRenewal?.();
    this.cancelRenewal = undefined;
  }

  private async describeHolder(): Promise<string> {
    const owner = await this.read().catch(() => undefined);
    if (owner === undefined) return 'another process holds its lock';
    const where = owner.host === this.options.host ? 'this host' : owner.host;
    const seconds = Math.round((this.options.now() - owner.renewed_at) / 1000);
    return `pid ${owner.pid} on ${where} holds it (lease renewed ${seconds} s ago)`;
  }

  private inUse(why: string): Error {
    return new Error(
      `STATE_DIR ${this.dir} is in use: ${why}. One process per STATE_DIR: stop that one first.`,
    );
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
        return { started_at: value.renewed_at, renewals: 0, ...value } as StateDirOwner;
    } catch {
      // A damaged lease says nothing about a live owner: treated as none (below).
    }
    this.options.onProblem(`ignoring a damaged lease file ${this.path}`);
    return undefined;
  }

  private async write(): Promise<void> {
    const { host, pid, now } = this.options;
    const at = now();
    const owner: StateDirOwner = {
      host,
      pid,
      token: this.token,
      started_at: this.startedAt,
      renewed_at: at,
      renewals: this.renewals++,
    };
    await writeFileAtomic(this.path, `${JSON.stringify(owner)}\n`);
    this.renewedAt = at;
  }
}
