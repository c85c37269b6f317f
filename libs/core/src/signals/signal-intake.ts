import type { AlertSink } from '../alerts/alert';
import type { EventSink } from '../events/event-sink.port';
import type { CoreLogger } from '../logging/core-logger.port';
import type { SignalLedger, UnfinishedSignal } from '../state/signal-ledger.port';
import type { Clock } from '../time/clock';
import type { TradeSignal } from './trade-signal';

/** `unavailable`: the ledger could not be written, so the signal was not claimed (the sender may retry). */
export type SubmitOutcome = 'accepted' | 'duplicate' | 'halted' | 'stopping' | 'unavailable';

/** A signal waiting for a person (APPROVAL_MODE=manual). */
export interface PendingApproval {
  signal: TradeSignal;
  since: number;
}

export interface SignalIntakeSettings {
  approvalMode: 'auto' | 'manual';
  loopId: string;
  /** Where the ledger lives, for alert texts. */
  where: string;
}

export interface SignalIntakePorts {
  ledger: SignalLedger;
  /** False until the account has loaded its latch and baselines: nothing is taken before. */
  ready(): boolean;
  isHalted(): boolean;
  stopping(): boolean;
  events: EventSink;
  alerts: AlertSink;
  clock: Clock;
  logger: CoreLogger;
}

/**
 * Every signal source hands its signals here: claim the id durably (at most once, across
 * restarts), refuse while halted, approve (automatically or by a person), and queue for the loop.
 */
export class SignalIntake {
  private approved: TradeSignal[] = [];
  private readonly pending = new Map<string, PendingApproval>();
  private readonly wakeListeners: (() => void)[] = [];
  private readonly pendingListeners: ((pending: PendingApproval) => void)[] = [];
  /** Set from a failed ledger write until the next one lands: one alert per outage, not per signal. */
  private ledgerFailing = false;

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

  async submit(signal: TradeSignal): Promise<SubmitOutcome> {
    // Before the latch is loaded nobody knows whether the account is halted: take nothing yet.
    if (!this.ports.ready()) return 'unavailable';
    if (this.ports.ledger.has(signal.id)) return 'duplicate';
    // Accepting now would leave the signal to a later start, at a later price: refuse, unclaimed,
    // so the sender may send it again to whoever serves next.
    if (this.ports.stopping()) return 'stopping';
    const now = this.ports.clock.now();
    if (this.ports.isHalted()) {
      const claimed = await this.claim(signal, 'rejected', now, 'halted');
      if (claimed !== 'claimed') return claimed;
      this.ports.events.publish('signal_rejected', { signal_id: signal.id, reason: 'halted' });
      return 'halted';
    }
    const claimed = await this.claim(signal, 'accepted', now);
    if (claimed !== 'claimed') return claimed;
    this.ports.events.publish('signal_received', {
      signal_id: signal.id,
      instrument: signal.instrument,
      side: signal.side,
      volume: signal.volume,
      source: signal.source,
      created_at: new Date(signal.createdAtMs).toISOString(),
    });
    await this.approve(signal, 'auto');
    return 'accepted';
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

  /**
   * Claim the id in the ledger. A failed write (disk full, I/O error) leaves the signal unclaimed:
   * refused for the sender to retry, never accepted without a durable record.
   */
  private async claim(
    signal: TradeSignal,
    status: 'accepted' | 'rejected',
    now: number,
    reason?: string,
  ): Promise<'claimed' | 'duplicate' | 'unavailable'> {
    let claimed: boolean;
    try {
      claimed = await this.ports.ledger.claim(signal, status, now, reason);
    } catch (error) {
      this.ports.logger.error(
        { err: error, signal_id: signal.id },
        'could not write the signal ledger; signal refused',
      );
      if (!this.ledgerFailing)
        this.ports.alerts.send({
          kind: 'state_untrusted',
          text: `Could not write the signal ledger under ${this.settings.where}: ${String(error)}. New signals are refused (503) until a write succeeds (after a failed rollback, until a restart).\nLoop ${this.settings.loopId}`,
        });
      this.ledgerFailing = true;
      return 'unavailable';
    }
    if (!claimed) return 'duplicate'; // known already: nothing was written
    if (this.ledgerFailing)
      this.ports.logger.warn({}, 'signal ledger written again after an earlier failure');
    this.ledgerFailing = false;
    return 'claimed';
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
    this.approved.push(signal);
    for (const listener of this.wakeListeners) listener();
  }
}
