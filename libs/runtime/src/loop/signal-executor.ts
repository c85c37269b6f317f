import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  backoffDelay,
  executeClose,
  executeOpenOrder,
  positionWithRequestId,
  openRequestId,
  OrderRateLimiter,
  signalCloseRequestId,
  type BrokerError,
  type BrokerGateway,
  type BrokerResult,
  type Clock,
  type OrderOutcome,
  type Position,
  type RetryPolicy,
  type TradeSignal,
} from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { DrawdownGuard, type PreTradeDecision } from '@app/drawdown';
import { EventBus, Lifecycle } from '@app/common';
import { BROKER_GATEWAY } from '@app/mt5';
import { STATE_STORE, type SignalLedgerRecord, type StateStore } from '@app/state';
import { RETRY_POLICY } from './retry-policy';

/** Slippage allowed on market orders, in points. */
const DEVIATION_POINTS = 20;

/**
 * Upper bound on how long an open whose outcome is unknown is kept unresolved while the broker
 * cannot even list positions (a bridge outage). The tick waits meanwhile, so the bound stays well
 * under HEARTBEAT_STALE_AFTER_MS: liveness must not fail because the broker is down.
 */
const MAX_RESOLVE_WAIT_MS = 30_000;
/** Longest pause between position lists while an order's outcome waits for the broker (settleLater). */
const SETTLE_LATER_MAX_DELAY_MS = 5_000;
/** Extra tries to list positions when settling a signal restored after a crash (the broker may be flaky). */
const RESTORED_LIST_RETRIES = 3;

/**
 * Executes one approved signal against the broker and records how it ended, exactly once:
 * `executed`, `failed` (with a reason) or `rejected` (halted). Never throws for a broker failure.
 */
@Injectable()
export class SignalExecutor {
  private readonly logger = new Logger(SignalExecutor.name);
  private readonly rateLimiter: OrderRateLimiter;
  private readonly pendingOutcomes = new Set<Promise<void>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BROKER_GATEWAY) private readonly broker: BrokerGateway,
    @Inject(STATE_STORE) private readonly state: StateStore,
    @Inject(RETRY_POLICY) private readonly retry: RetryPolicy,
    private readonly guard: DrawdownGuard,
    private readonly events: EventBus,
    private readonly lifecycle: Lifecycle,
  ) {
    this.rateLimiter = new OrderRateLimiter(config.signals.maxOrdersPerSecond);
  }

  async execute(signal: TradeSignal, gate: PreTradeDecision): Promise<void> {
    try {
      // Closing is always allowed, also while halted (docs/risk.md); opening never is.
      if (signal.side === 'close') return await this.closeInstrument(signal);
      // Before the halt check: an order an earlier run sent may have filled, halted or not.
      if (signal.restoredAtMs !== undefined && (await this.settleRestored(signal, openRequestId(signal.id))))
        return;
      if (this.guard.isHalted()) return this.reject(signal, 'halted');
      if (!gate.allowed) return this.fail(signal, { reason: gate.reason, attempts: 0 });
      // The batch's gate may be older than the guard's latest read: that read counts too.
      const blocked = this.guard.openBlockedReason();
      if (blocked !== null)
        return blocked === 'halted'
          ? this.reject(signal, blocked)
          : this.fail(signal, { reason: blocked, attempts: 0 });
      if (!this.rateLimiter.tryAcquire(this.clock.now()))
        return this.fail(signal, { reason: 'rate_limited', attempts: 0 });
      await this.open(signal);
    } catch (error) {
      // A bug or a disk failure, not a broker answer: record it so the signal still ends once.
      this.logger.error({ err: error, signal_id: signal.id }, 'signal execution failed unexpectedly');
      this.fail(signal, { reason: 'internal_error', error: String(error), attempts: 0 });
    }
  }

  private async open(signal: TradeSignal): Promise<void> {
    const requestId = openRequestId(signal.id);
    const sentAt = this.clock.now();
    // The order executor retries with the same request id and returns only the LAST answer. An
    // earlier attempt may have reached the terminal (a reset, a timeout) even when the last one is
    // a plain `circuit_open` or `http_503`, so remember the first ambiguous answer of any attempt.
    let ambiguous: BrokerError | undefined;
    let outcome: OrderOutcome = await executeOpenOrder(
      this.broker,
      {
        request_id: requestId,
        symbol: signal.instrument,
        type: signal.side === 'buy' ? 'buy' : 'sell',
        volume: signal.volume,
        ...(signal.sl === undefined ? {} : { sl: signal.sl }),
        ...(signal.tp === undefined ? {} : { tp: signal.tp }),
        deviation: DEVIATION_POINTS,
        magic: this.config.mt5.magic,
        comment: requestId,
      },
      this.retry,
      // A halt or a stop while the order waits out a REQUOTE or a timeout: send it no more.
      () => (this.guard.isHalted() ? 'halted' : this.lifecycle.stopping ? 'stopping' : undefined),
      (answer) => {
        if (!answer.ok && mayHaveExecuted(answer.error)) ambiguous ??= answer.error;
      },
    );
    // A fill or a retcode is the bridge's stored word on this request id; only an error after an
    // ambiguous attempt leaves the order's fate open, and it is settled before the signal ends.
    if (outcome.kind === 'error' && ambiguous !== undefined) {
      const resolved = await this.resolveUnknown(requestId, outcome, ambiguous);
      if (resolved.kind === 'unknown') return this.settleLater(signal, requestId, outcome, ambiguous);
      if (resolved.kind === 'found')
        return this.executedByPosition(signal, requestId, resolved.position, outcome.attempts, sentAt);
      outcome = { ...outcome, reason: resolved.reason };
    }
    const filledAt = this.clock.now();
    switch (outcome.kind) {
      case 'filled':
      case 'already_closed': {
        const { result } = outcome;
        this.recordOutcome(
          signal.id,
          'executed',
          filledAt,
          { request_id: requestId, ticket: result.position || result.order },
          () =>
            this.events.publish('trade_executed', {
              signal_id: signal.id,
              ticket: result.position || result.order,
              instrument: signal.instrument,
              side: signal.side,
              volume: result.volume,
              fill_price: result.price,
              request_id: requestId,
              latency_ms: Math.max(0, filledAt - signal.createdAtMs),
              execution_time_ms: Math.max(0, filledAt - sentAt),
              attempts: outcome.attempts,
            }),
        );
        return;
      }
      case 'rejected':
        return this.fail(signal, {
          request_id: requestId,
          retcode: outcome.retcode,
          reason: outcome.reason,
          attempts: outcome.attempts,
        });
      case 'error':
        return this.fail(signal, {
          request_id: requestId,
          error: outcome.error.message,
          reason: outcome.reason,
          attempts: outcome.attempts,
        });
    }
  }

  /**
   * A signal an earlier run accepted but never recorded as ended may already have been sent and
   * filled before the crash. The bridge would answer a resend with the stored fill, but only for
   * 24 hours, so look first: a position carrying the request id means it executed (also while
   * halted, and also when a halt of this process has closed it since). If none does and
   * the signal is older than SIGNAL_MAX_AGE_MS, it is not sent at all: it would trade at a price
   * nobody chose. Returns true when the signal was settled here.
   */
  private async settleRestored(signal: TradeSignal, requestId: string): Promise<boolean> {
    let listed = await this.broker.positions();
    for (let retry = 0; !listed.ok && retry < RESTORED_LIST_RETRIES && !this.lifecycle.stopping; retry++) {
      await this.retry.sleep(backoffDelay(this.retry, retry));
      listed = await this.broker.positions();
    }
    const position = listed.ok
      ? this.orderPosition(listed.value, requestId)
      : this.guard.closedPositionWithRequestId(requestId);
    const now = this.clock.now();
    if (position !== undefined) {
      this.executedByPosition(signal, requestId, position, 0);
      return true;
    }
    if (now - signal.receivedAtMs > this.config.signals.maxAgeMs) {
      this.fail(signal, { request_id: requestId, reason: 'stale_after_restart', attempts: 0 });
      return true;
    }
    return false;
  }

  /**
   * The order may have reached the terminal: look for its position by the request id in the
   * comment. While positions cannot be listed (bridge down, circuit open) keep trying with backoff
   * for a bounded time: declaring the signal failed while its position may exist would hide it.
   */
  private async resolveUnknown(
    requestId: string,
    outcome: Extract<OrderOutcome, { kind: 'error' }>,
    ambiguous: BrokerError,
  ): Promise<Resolution> {
    const deadline =
      this.clock.now() + Math.min(MAX_RESOLVE_WAIT_MS, Math.floor(this.config.heartbeatStaleAfterMs / 2));
    let listed: BrokerResult<Position[]> = await this.broker.positions();
    // A graceful stop must finish within its budget: it ends the wait (the failure names why).
    for (let retry = 0; !listed.ok && this.clock.now() < deadline && !this.lifecycle.stopping; retry++) {
      const waitMs = Math.min(backoffDelay(this.retry, retry), Math.max(0, deadline - this.clock.now()));
      this.logger.warn(
        { request_id: requestId, error: listed.error, retry_in_ms: waitMs },
        'order outcome unknown and positions cannot be listed; retrying',
      );
      await this.retry.sleep(waitMs);
      listed = await this.broker.positions();
    }
    const reason = `${outcome.reason}; outcome_unknown after ${ambiguous.code}`;
    if (!listed.ok) {
      // Declaring it failed now could hide a filled position: the tick goes on, and the signal
      // stays open until positions can be listed (settleLater).
      if (!this.lifecycle.stopping) return { kind: 'unknown' };
      this.logger.error(
        { request_id: requestId, error: outcome.error, first_ambiguous: ambiguous, list_error: listed.error },
        'order outcome unknown and the service is stopping; recorded failed, check the account by the request id in the comment',
      );
      return { kind: 'failed', reason: `${reason}: service stopping` };
    }
    const position = positionWithRequestId(listed.value, requestId);
    if (position === undefined) {
      this.logger.warn(
        { request_id: requestId, error: outcome.error, first_ambiguous: ambiguous },
        'order outcome unknown; no position carries its request id, so it did not fill',
      );
      return { kind: 'failed', reason: `${reason}: no position carries its request id` };
    }
    this.logger.warn(
      { request_id: requestId, ticket: position.ticket },
      'order outcome was unknown; its position was found by the comment',
    );
    return { kind: 'found', position };
  }

  /** `close`: close the bot's own positions (magic number) on the instrument, as the broker lists them. */
  private async closeInstrument(signal: TradeSignal): Promise<void> {
    const listed = await this.broker.positions();
    if (!listed.ok)
      return this.fail(signal, {
        reason: `positions_unavailable: ${listed.error.code}`,
        error: listed.error.message,
        attempts: 1,
      });
    const mine = listed.value.filter(
      (p) => p.symbol === signal.instrument && p.magic === this.config.mt5.magic,
    );
    const outcomes = await Promise.all(
      mine.map((position) =>
        executeClose(
          this.broker,
          {
            request_id: signalCloseRequestId(signal.id, position.ticket),
            ticket: position.ticket,
            deviation: DEVIATION_POINTS,
          },
          this.retry,
        ),
      ),
    );
    const closed = outcomes.filter((o) => o.kind === 'filled' || o.kind === 'already_closed').length;
    const failed = outcomes.length - closed;
    const now = this.clock.now();
    this.events.publish('positions_closed', {
      signal_id: signal.id,
      instrument: signal.instrument,
      closed,
      failed,
    });
    if (failed > 0) {
      const first = outcomes.find((o) => o.kind === 'rejected' || o.kind === 'error');
      return this.fail(signal, {
        reason: `close_failed: ${failed} of ${outcomes.length} (${first?.reason ?? 'unknown'})`,
        attempts: Math.max(...outcomes.map((o) => o.attempts)),
      });
    }
    this.recordOutcome(signal.id, 'executed', now, { reason: `closed ${closed}` });
  }

  private fail(
    signal: TradeSignal,
    details: { reason: string; attempts: number; request_id?: string; retcode?: number; error?: string },
  ): void {
    this.recordOutcome(
      signal.id,
      'failed',
      this.clock.now(),
      { reason: details.reason, ...(details.request_id ? { request_id: details.request_id } : {}) },
      () => this.events.publish('trade_failed', { signal_id: signal.id, ...details }),
    );
  }

  private reject(signal: TradeSignal, reason: string): void {
    this.recordOutcome(signal.id, 'rejected', this.clock.now(), { reason }, () =>
      this.events.publish('signal_rejected', { signal_id: signal.id, reason }),
    );
  }

  /**
   * An order whose outcome stayed unknown while positions could not be listed (a long bridge
   * outage, an open circuit): keep looking in the background, without holding up the loop, and end
   * the signal once the broker can say. A stop leaves it unfinished in the ledger, where the next
   * start settles it by its comment (settleRestored).
   */
  private settleLater(
    signal: TradeSignal,
    requestId: string,
    outcome: Extract<OrderOutcome, { kind: 'error' }>,
    ambiguous: BrokerError,
  ): void {
    this.logger.warn(
      { signal_id: signal.id, request_id: requestId, first_ambiguous: ambiguous },
      'order outcome unknown and positions cannot be listed; the signal stays open until they can',
    );
    void (async () => {
      for (let retry = 0; !this.lifecycle.stopping; retry++) {
        await this.retry.sleep(Math.min(SETTLE_LATER_MAX_DELAY_MS, backoffDelay(this.retry, retry)));
        if (this.lifecycle.stopping) break;
        const listed = await this.broker.positions();
        if (!listed.ok) continue;
        const position = this.orderPosition(listed.value, requestId);
        if (position !== undefined) this.executedByPosition(signal, requestId, position, outcome.attempts);
        else
          this.fail(signal, {
            request_id: requestId,
            error: outcome.error.message,
            reason: `${outcome.reason}; outcome_unknown after ${ambiguous.code}: no position carries its request id`,
            attempts: outcome.attempts,
          });
        return;
      }
      this.logger.warn(
        { signal_id: signal.id, request_id: requestId },
        'stopping with an order outcome unknown: the signal stays unfinished, and the next start settles it by its comment',
      );
    })().catch((error: unknown) =>
      this.logger.error({ err: error, signal_id: signal.id }, 'settling an unknown order outcome failed'),
    );
  }

  /** The position an order opened, listed, or closed since by a halt (then only the closer remembers the fill). */
  private orderPosition(listed: readonly Position[], requestId: string): Position | undefined {
    return positionWithRequestId(listed, requestId) ?? this.guard.closedPositionWithRequestId(requestId);
  }

  /**
   * The order was found as a position by the request id in its comment: the signal executed.
   * `sentAt` when this run sent the order (else the execution time is unknown, reported as 0).
   */
  private executedByPosition(
    signal: TradeSignal,
    requestId: string,
    position: Position,
    attempts: number,
    sentAt?: number,
  ): void {
    const now = this.clock.now();
    this.recordOutcome(signal.id, 'executed', now, { request_id: requestId, ticket: position.ticket }, () =>
      this.events.publish('trade_executed', {
        signal_id: signal.id,
        ticket: position.ticket,
        instrument: signal.instrument,
        side: signal.side,
        volume: position.volume,
        fill_price: position.price_open,
        request_id: requestId,
        latency_ms: Math.max(0, now - signal.createdAtMs),
        execution_time_ms: sentAt === undefined ? 0 : Math.max(0, now - sentAt),
        attempts,
      }),
    );
  }

  /**
   * Write how a signal ended to the ledger and publish its event once that is on disk, without
   * holding up the next signal of the instrument: the broker's answer is already final, and a
   * crash before the write only means the restart asks the broker again with the same request id.
   * The loop awaits `flushOutcomes()` when it stops.
   */
  private recordOutcome(
    id: string,
    status: 'executed' | 'failed' | 'rejected',
    at: number,
    details: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'>,
    publish?: () => void,
  ): void {
    const write = this.state.ledger
      .update(id, status, at, details)
      .then(() => publish?.())
      .catch((error: unknown) =>
        this.logger.error({ err: error, signal_id: id, status }, 'could not record how a signal ended'),
      )
      .finally(() => this.pendingOutcomes.delete(write));
    this.pendingOutcomes.add(write);
  }

  /** Resolves once every outcome recorded so far is on disk and published. */
  async flushOutcomes(): Promise<void> {
    while (this.pendingOutcomes.size > 0) await Promise.all([...this.pendingOutcomes]);
  }
}

/** What looking for an order of unknown outcome found: its position, proof it did not fill, or nothing yet. */
type Resolution =
  { kind: 'found'; position: Position } | { kind: 'failed'; reason: string } | { kind: 'unknown' };

/**
 * Answers after which the order may have executed: no answer (`unknown_outcome`), or an answer we
 * could not read (`invalid_response`: a 200 whose body is garbage may still report a real fill).
 */
function mayHaveExecuted(error: BrokerError): boolean {
  return error.kind === 'unknown_outcome' || error.kind === 'invalid_response';
}
