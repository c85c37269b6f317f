import type { EventSink } from '../events/event-sink.port';
import type { CoreLogger } from '../logging/core-logger.port';
import type { AccountSignalLedger, UnfinishedSignal } from '../state/signal-ledger.port';
import type { Clock } from '../time/clock';
import type { TradeSignal } from './trade-signal';

/** A signal waiting for a person (APPROVAL_MODE=manual). */
export interface PendingApproval {
  signal: TradeSignal;
  since: number;
}

export interface SignalIntakeSettings {
  approvalMode: 'auto' | 'manual';
}

export interface SignalIntakePorts {
  ledger: AccountSignalLedger;
  isHalted(): boolean;
  /** The guard's count of latched halts (DrawdownGuard.haltCount). */
  haltCount(): number;
  events: EventSink;
  clock: Clock;
  logger: CoreLogger;
}

/**
 * One account's door for signals the fan-out (SignalFanOut) has claimed for it: announce, approve
 * (automatically or by a person) and queue for the account's loop. The claim itself, at most once
 * per (account, signal), happened before, durably, for every target account at once.
 */
export class SignalIntake {
  private approved: TradeSignal[] = [];
  private readonly pending = new Map<string, PendingApproval>();
  private readonly wakeListeners: (() => void)[] = [];
  private readonly pendingListeners: ((pending: PendingApproval) => void)[] = [];

  constructor(
    private readonly settings: SignalIntakeSettings,
    private readonly ports: SignalIntakePorts,
  ) {}

  /** Take up signals an earlier run accepted but never finished: they must not be silently lost. */
  async restoreUnfinished(unfinished: readonly UnfinishedSignal[]): Promise<number> {
    const now = this.ports.clock.now();
    for (const entry of unfinished) {
      const signal = { ...entry.signal, restoredAtMs: now };
      if (entry.status === 'approved') this.enqueueApproved(signal);
      else await this.approve(signal, 'restart');
    }
    if (unfinished.length > 0)
      this.ports.logger.warn(
        { unfinished: unfinished.length },
        `resumed ${unfinished.length} signal(s) left unfinished by the previous run`,
      );
    return unfinished.length;
  }

  /** A signal claimed for this account (not halted when it arrived): announced, then approved and queued. */
  async admit(signal: TradeSignal): Promise<void> {
    this.ports.events.publish('signal_received', {
      signal_id: signal.id,
      instrument: signal.instrument,
      side: signal.side,
      volume: signal.volume,
      source: signal.source,
      created_at: new Date(signal.createdAtMs).toISOString(),
    });
    await this.approve(signal, 'auto');
  }

  /** A signal claimed as rejected for this account because it was halted when the signal arrived. */
  rejectHalted(signal: TradeSignal): void {
    this.ports.events.publish('signal_rejected', { signal_id: signal.id, reason: 'halted' });
  }

  /** Signals ready for the loop, oldest first, at most `max`. */
  takeApproved(max: number): TradeSignal[] {
    if (this.approved.length <= max) {
      const all = this.approved;
      this.approved = [];
      return all;
    }
    return this.approved.splice(0, max);
  }

  get approvedBacklog(): number {
    return this.approved.length;
  }

  pendingApprovals(): PendingApproval[] {
    return [...this.pending.values()];
  }

  /** A person approved a pending signal. */
  async approvePending(id: string, by: string): Promise<'approved' | 'not_pending' | 'halted'> {
    const entry = this.pending.get(id);
    if (entry === undefined) return 'not_pending';
    if (this.ports.isHalted()) {
      // docs/risk.md: nothing that came in before a halt is queued for later.
      await this.rejectPending(id, 'halt');
      return 'halted';
    }
    this.pending.delete(id);
    await this.markApproved(entry.signal, by, this.ports.clock.now() - entry.since);
    return 'approved';
  }

  async rejectPending(id: string, by: string): Promise<'rejected' | 'not_pending'> {
    const entry = this.pending.get(id);
    if (entry === undefined) return 'not_pending';
    this.pending.delete(id);
    await this.ports.ledger.update(id, 'rejected', this.ports.clock.now(), { reason: `rejected by ${by}` });
    this.ports.events.publish('signal_rejected', { signal_id: id, reason: `rejected by ${by}` });
    return 'rejected';
  }

  /** Called when work arrives, so the loop runs at once instead of at its next tick. */
  onWork(listener: () => void): void {
    this.wakeListeners.push(listener);
  }

  /** Called when a signal starts waiting for a person (APPROVAL_MODE=manual), e.g. to post it to Telegram. */
  onPending(listener: (pending: PendingApproval) => void): void {
    this.pendingListeners.push(listener);
  }

  /** `restart`: taken up again after a restart (the approval is then written to the ledger). */
  private async approve(signal: TradeSignal, by: 'auto' | 'restart'): Promise<void> {
    if (this.settings.approvalMode === 'manual' && signal.approvedAtMs === undefined) {
      const entry = { signal, since: this.ports.clock.now() };
      this.pending.set(signal.id, entry);
      for (const listener of this.pendingListeners) {
        try {
          listener(entry);
        } catch (error) {
          this.ports.logger.error(
            { err: error, signal_id: signal.id },
            'pending-approval listener failed; the signal still waits for approval',
          );
        }
      }
      return;
    }
    // Approved upstream (platform): the approval took from creation to approval there.
    const approvalTime =
      signal.approvedAtMs === undefined ? 0 : Math.max(0, signal.approvedAtMs - signal.createdAtMs);
    await this.markApproved(signal, by, approvalTime);
  }

  private async markApproved(signal: TradeSignal, by: string, approvalTimeMs: number): Promise<void> {
    // Manual approvals are durable before the loop sees them; automatic ones are implied by
    // `accepted` in auto mode, so they skip a disk sync on the hot path.
    if (by !== 'auto') await this.ports.ledger.update(signal.id, 'approved', this.ports.clock.now());
    this.ports.events.publish('signal_approved', {
      signal_id: signal.id,
      approval_time_ms: approvalTimeMs,
      approved_by: by,
    });
    this.enqueueApproved(signal);
  }

  private enqueueApproved(signal: TradeSignal): void {
    // Queued while halted (taken up at a start that found the latch): it came in before that halt.
    const halts = this.ports.haltCount();
    this.approved.push({ ...signal, queuedAfterHalts: this.ports.isHalted() ? halts - 1 : halts });
    for (const listener of this.wakeListeners) listener();
  }
}
