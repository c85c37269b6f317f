import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  executeClose,
  executeOpenOrder,
  findPositionByRequestId,
  openRequestId,
  OrderRateLimiter,
  signalCloseRequestId,
  type BrokerGateway,
  type Clock,
  type OrderOutcome,
  type RetryPolicy,
  type TradeSignal,
} from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { DrawdownGuard, type PreTradeDecision } from '@app/drawdown';
import { EventBus } from '@app/common';
import { BROKER_GATEWAY } from '@app/mt5';
import { STATE_STORE, type StateStore } from '@app/state';
import { RETRY_POLICY } from './retry-policy';

/** Slippage allowed on market orders, in points. */
const DEVIATION_POINTS = 20;

/**
 * Executes one approved signal against the broker and records how it ended, exactly once:
 * `executed`, `failed` (with a reason) or `rejected` (halted). Never throws for a broker failure.
 */
@Injectable()
export class SignalExecutor {
  private readonly logger = new Logger(SignalExecutor.name);
  private readonly rateLimiter: OrderRateLimiter;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BROKER_GATEWAY) private readonly broker: BrokerGateway,
    @Inject(STATE_STORE) private readonly state: StateStore,
    @Inject(RETRY_POLICY) private readonly retry: RetryPolicy,
    private readonly guard: DrawdownGuard,
    private readonly events: EventBus,
  ) {
    this.rateLimiter = new OrderRateLimiter(config.signals.maxOrdersPerSecond);
  }

  async execute(signal: TradeSignal, gate: PreTradeDecision): Promise<void> {
    try {
      if (this.guard.isHalted()) return await this.reject(signal, 'halted');
      if (signal.side === 'close') return await this.closeInstrument(signal);
      if (!gate.allowed) return await this.fail(signal, { reason: gate.reason, attempts: 0 });
      if (!this.rateLimiter.tryAcquire(this.clock.now())) return await this.fail(signal, { reason: 'rate_limited', attempts: 0 });
      await this.open(signal);
    } catch (error) {
      // A bug or a disk failure, not a broker answer: record it so the signal still ends once.
      this.logger.error({ err: error, signal_id: signal.id }, 'signal execution failed unexpectedly');
      await this.fail(signal, { reason: 'internal_error', error: String(error), attempts: 0 }).catch((recordError: unknown) =>
        this.logger.error({ err: recordError, signal_id: signal.id }, 'could not record the failure of a signal'),
      );
    }
  }

  private async open(signal: TradeSignal): Promise<void> {
    const requestId = openRequestId(signal.id);
    const sentAt = this.clock.now();
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
    );
    if (outcome.kind === 'error' && outcome.error.kind === 'unknown_outcome') outcome = await this.resolveUnknown(requestId, outcome);
    const filledAt = this.clock.now();
    switch (outcome.kind) {
      case 'filled':
      case 'already_closed': {
        const { result } = outcome;
        await this.state.ledger.update(signal.id, 'executed', filledAt, { request_id: requestId, ticket: result.position || result.order });
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
        });
        return;
      }
      case 'rejected':
        return this.fail(signal, { request_id: requestId, retcode: outcome.retcode, reason: outcome.reason, attempts: outcome.attempts });
      case 'error':
        return this.fail(signal, { request_id: requestId, error: outcome.error.message, reason: outcome.reason, attempts: outcome.attempts });
    }
  }

  /** The order may have reached the terminal: look for its position by the request id in the comment. */
  private async resolveUnknown(requestId: string, outcome: Extract<OrderOutcome, { kind: 'error' }>): Promise<OrderOutcome> {
    const found = await findPositionByRequestId(this.broker, requestId);
    if (!found.ok || found.value === null) {
      const why = found.ok ? 'no position carries its request id' : `positions could not be listed (${found.error.code})`;
      this.logger.warn({ request_id: requestId, error: outcome.error }, `order outcome unknown; ${why}`);
      return { ...outcome, reason: `outcome_unknown: ${why}` };
    }
    const positions = await this.broker.positions();
    const position = positions.ok ? positions.value.find((p) => p.ticket === found.value) : undefined;
    return {
      kind: 'filled',
      attempts: outcome.attempts,
      result: {
        request_id: requestId,
        retcode: 10009,
        order: found.value,
        deal: 0,
        position: found.value,
        volume: position?.volume ?? 0,
        price: position?.price_open ?? 0,
        comment: 'resolved by position comment',
      },
    };
  }

  /** `close`: close the bot's own positions (magic number) on the instrument, as the broker lists them. */
  private async closeInstrument(signal: TradeSignal): Promise<void> {
    const listed = await this.broker.positions();
    if (!listed.ok) return this.fail(signal, { reason: `positions_unavailable: ${listed.error.code}`, error: listed.error.message, attempts: 1 });
    const mine = listed.value.filter((p) => p.symbol === signal.instrument && p.magic === this.config.mt5.magic);
    const outcomes = await Promise.all(
      mine.map((position) =>
        executeClose(this.broker, { request_id: signalCloseRequestId(signal.id, position.ticket), ticket: position.ticket, deviation: DEVIATION_POINTS }, this.retry),
      ),
    );
    const closed = outcomes.filter((o) => o.kind === 'filled' || o.kind === 'already_closed').length;
    const failed = outcomes.length - closed;
    const now = this.clock.now();
    this.events.publish('positions_closed', { signal_id: signal.id, instrument: signal.instrument, closed, failed });
    if (failed > 0) {
      const first = outcomes.find((o) => o.kind === 'rejected' || o.kind === 'error');
      return this.fail(signal, { reason: `close_failed: ${failed} of ${outcomes.length} (${first?.reason ?? 'unknown'})`, attempts: Math.max(...outcomes.map((o) => o.attempts)) });
    }
    await this.state.ledger.update(signal.id, 'executed', now, { reason: `closed ${closed}` });
  }

  private async fail(
    signal: TradeSignal,
    details: { reason: string; attempts: number; request_id?: string; retcode?: number; error?: string },
  ): Promise<void> {
    await this.state.ledger.update(signal.id, 'failed', this.clock.now(), { reason: details.reason, ...(details.request_id ? { request_id: details.request_id } : {}) });
    this.events.publish('trade_failed', { signal_id: signal.id, ...details });
  }

  private async reject(signal: TradeSignal, reason: string): Promise<void> {
    await this.state.ledger.update(signal.id, 'rejected', this.clock.now(), { reason });
    this.events.publish('signal_rejected', { signal_id: signal.id, reason });
  }
}
