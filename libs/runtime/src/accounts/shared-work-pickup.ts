import type { CoreLogger, PendingWork, Scheduler, ScaleOut } from '@app/core';

/** The backstop when a notification is lost: every owner polls this often. */
const POLL_EVERY_MS = 1_000;
/**
 * Signals are read after the last one seen, in arrival order; but two processes' claims may
 * commit out of that order, so now and then everything accepted is read again.
 */
const FULL_READ_EVERY = 5;

/** Where the pickup hands work: the owned account's runtime, if this process still owns it. */
export interface PickupTarget {
  /** False when the account could not take it now (not owned, or still loading): read again later. */
  admit(work: PendingWork): Promise<boolean>;
}

/**
 * The owners' side of intake on any process (docs/scale-out.md, Intake): another process (or
 * this one) committed a signal with `accepted` work for accounts this process owns; read that
 * work, at once when notified and every second anyway, and admit each (account, signal) once.
 *
 * Once: an admitted pair is remembered until a full read no longer finds it accepted (its
 * account moved it on); a new owner starts with the pairs its start took up already.
 */
export class SharedWorkPickup {
  private readonly admitted = new Map<string, Set<string>>();
  private afterSeq = 0;
  private reads = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private cancelPoll: (() => void) | undefined;

  constructor(
    private readonly scaleOut: Pick<ScaleOut, 'pendingWork'>,
    private readonly owned: () => readonly string[],
    private readonly target: PickupTarget,
    private readonly scheduler: Scheduler,
    private readonly logger: CoreLogger,
  ) {}

  start(): void {
    this.cancelPoll = this.scheduler.every(POLL_EVERY_MS, () => this.wake());
    this.wake();
  }

  stop(): void {
    this.cancelPoll?.();
    this.cancelPoll = undefined;
  }

  /** An account was taken on: these signals of it are in hand already (its start took them up). */
  adopted(accountId: string, signalIds: readonly string[]): void {
    this.admitted.set(accountId, new Set(signalIds));
    // Its accepted work may lie before the cursor: the next read reads everything.
    this.reads = 0;
  }

  dropped(accountId: string): void {
    this.admitted.delete(accountId);
  }

  /** Read now, or right after the read in flight. */
  wake(): void {
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.read()
      .catch((error: unknown) =>
        this.logger.warn({ err: error }, 'reading accepted work failed; polling goes on'),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async read(): Promise<void> {
    const accounts = this.owned();
    if (accounts.length === 0) return;
    // Only the sets this read started with may be pruned: an account taken on meanwhile has its own.
    const atStart = new Map(accounts.map((id) => [id, this.admitted.get(id)]));
    const full = this.reads % FULL_READ_EVERY === 0;
    this.reads++;
    const rows = await this.scaleOut.pendingWork(accounts, full ? 0 : this.afterSeq);
    const seen = new Map<string, Set<string>>();
    for (const work of rows) {
      this.afterSeq = Math.max(this.afterSeq, work.seq);
      const ids = seen.get(work.accountId) ?? new Set<string>();
      ids.add(work.signal.id);
      seen.set(work.accountId, ids);
      const admitted = this.admitted.get(work.accountId);
      if (admitted === undefined || admitted.has(work.signal.id)) continue; // not (or no longer) ours, or in hand
      // Marked only once taken: an account still loading gets it at a later read.
      if (await this.target.admit(work)) admitted.add(work.signal.id);
      else this.reads = 0; // the next read is a full one
    }
    // A complete full read shows every pair still accepted: the others have moved on.
    if (full && rows.length < PENDING_WORK_PAGE)
      for (const [accountId, admitted] of atStart) {
        if (admitted === undefined || this.admitted.get(accountId) !== admitted) continue;
        const still = seen.get(accountId);
        for (const id of admitted) if (still === undefined || !still.has(id)) admitted.delete(id);
      }
    // A full page: more is waiting; read on at once.
    if (rows.length >= PENDING_WORK_PAGE) this.again = true;
  }
}

/** The most rows one read returns (the PostgreSQL backend's page). */
const PENDING_WORK_PAGE = 1_000;
