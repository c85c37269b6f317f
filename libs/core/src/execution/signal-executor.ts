import { fail, type BrokerError, type BrokerResult } from '../broker/broker-error';
import type { BrokerGateway } from '../broker/broker-gateway.port';
import type { Position } from '../broker/broker-types';
import type { EventSink } from '../events/event-sink.port';
import type { CoreLogger } from '../logging/core-logger.port';
import type { OpenRefusal } from '../risk/trading-state';
import type { TradeSignal } from '../signals/trade-signal';
import type { AccountSignalLedger, SignalLedgerRecord } from '../state/signal-ledger.port';
import type { Clock } from '../time/clock';
import type { Scheduler } from '../time/scheduler';
import { executeClose, executeOpenOrder, HOLD_RETRY, type RetryPolicy } from './order-executor';
import { OrderRateLimiter } from './order-rate-limiter';
import { sizeOrder, type Sizing } from './order-sizing';
import { SharedPositionsListing } from './shared-positions-listing';
import { SymbolCache } from './symbol-cache';
import { SIGNED_REQUEST_MAX_SKEW_MS } from '../signing/signed-request';
import {
  LEASE_LAPSED,
  OrderSettlement,
  type SettlementContext,
  type SettlementOutcome,
  type SettlementStep,
} from './order-settlement';
import { openRequestId, signalCloseRequestId } from './request-ids';

/** Slippage allowed on market orders, in points. */
const DEVIATION_POINTS = 20;
/** Longest pause between position lists while an order's outcome waits behind the loop. */
const LATER_MAX_DELAY_MS = 5_000;
/** Extra tries to list positions when settling a signal restored after a crash. */
const RESTORED_LIST_RETRIES = 3;
/** Upper bound on how long the loop waits for an unknown outcome (kept well under the heartbeat's staleness). */
const MAX_RESOLVE_WAIT_MS = 30_000;
/**
 * How long after an order's answer was lost a listing without its position counts as its absence.
 * A busy bridge may still hold the request (seen under load: listed first, filled after), but it
 * refuses a request signed more than SIGNED_REQUEST_MAX_SKEW_MS before (docs/mt5-bridge.md): past
 * that, plus a margin for the two clocks, the order can no longer arrive.
 */
const ABSENT_AFTER_MS = SIGNED_REQUEST_MAX_SKEW_MS + 5_000;
/** How long the loop waits on listings without the order before the proof goes on behind it. */
const LOOP_WAIT_FOR_ABSENCE_MS = 5_000;
/** Waits between tries of an outcome's ledger write: from 200 ms, doubling, at most 5 s. */
const OUTCOME_RETRY_BASE_MS = 200;
const OUTCOME_RETRY_MAX_MS = 5_000;

export interface SignalExecutorSettings {
  magic: number;
  /** How this account sizes a signal's volume (docs/accounts.md, Sizing), and the most it trades on one. */
  sizing: Sizing;
  maxVolume: number;
  maxOrdersPerSecond: number;
  /** SIGNAL_MAX_AGE_MS: an unfinished signal older than this is not sent after a restart. */
  maxAgeMs: number;
  /** HEARTBEAT_STALE_AFTER_MS: the loop never waits for an unknown outcome for half of it. */
  heartbeatStaleAfterMs: number;
  retry: Pick<RetryPolicy, 'maxRetries' | 'baseDelayMs' | 'maxDelayMs' | 'random'>;
}

/** What the executor asks of the drawdown guard, and nothing more. */
export interface OpenGate {
  isHalted(): boolean;
  /** Halts latched so far: a signal queued before the latest one is refused as `halted`. */
  haltCount(): number;
  openRefusal(): OpenRefusal | null;
  closedPositionWithRequestId(requestId: string): Position | undefined;
  /** What the service's own orders opened and closed, so position_closed knows its own work. */
  noteOpened(position: Position): void;
  noteClosed(position: Position, byUs: boolean): void;
}

export interface SignalExecutorPorts {
  broker: BrokerGateway;
  ledger: AccountSignalLedger;
  events: EventSink;
  gate: OpenGate;
  scheduler: Scheduler;
  clock: Clock;
  logger: CoreLogger;
  /** No order now: the process is stopping, or (shared accounts) this process may not trade the account. */
  stopping: () => boolean;
  /**
   * The process is shutting down: waits for an unknown outcome end (unfinished). Without it,
   * `stopping` is taken for it.
   */
  shuttingDown?: () => boolean;
  /** Every account's orders together (HOST_MAX_ORDERS_PER_SECOND): the process's own guard, shared. */
  hostRateLimiter?: Pick<OrderRateLimiter, 'tryAcquire'>;
}

/** The batch's pre-trade read (one equity read for a tick's orders); `equity` is what it read. */
export type BatchGate = { allowed: true; equity?: number } | { allowed: false; reason: string };

/**
 * Executes one approved signal against the broker and records how it ended, exactly once:
 * `executed`, `failed` (with a reason) or `rejected` (halted). Never throws for a broker failure.
 * The decisions are OrderSettlement's; this class does the I/O they ask for.
 */
export class SignalExecutor {
  private readonly rateLimiter: OrderRateLimiter;
  private readonly symbols: SymbolCache;
  /** Settlements looking for their orders share listings (a takeover restores many at once). */
  private readonly listings: SharedPositionsListing;
  private readonly retry: RetryPolicy;
  private readonly pendingOutcomes = new Set<Promise<void>>();
  private readonly behind = new Set<Promise<void>>();
  private readonly stopped = new AbortController();

  constructor(
    private readonly settings: SignalExecutorSettings,
    private readonly ports: SignalExecutorPorts,
  ) {
    this.rateLimiter = new OrderRateLimiter(settings.maxOrdersPerSecond);
    this.symbols = new SymbolCache(ports.broker, ports.clock);
    this.listings = new SharedPositionsListing(() => this.positionsAsValue(), ports.clock);
    this.retry = { ...settings.retry, sleep: (ms) => ports.scheduler.sleep(ms, this.stopped.signal) };
  }

  async execute(signal: TradeSignal, gate: BatchGate): Promise<void> {
    try {
      // Closing is always allowed, also while halted (docs/risk.md); opening never is.
      if (signal.side === 'close') return await this.closeInstrument(signal);
      await this.open(signal, gate);
    } catch (error) {
      // A bug or a disk failure, not a broker answer: record it so the signal still ends once.
      this.ports.logger.error({ err: error, signal_id: signal.id }, 'signal execution failed unexpectedly');
      this.record(signal, { kind: 'failed', reason: 'internal_error', error: String(error), attempts: 0 });
    }
  }

  /** Ends the waits of settlements behind the loop, so they leave their signals unfinished for the next start. */
  stop(): void {
    this.stopped.abort();
  }

  /** Resolves once every outcome recorded so far is on disk and published, and settlements behind the loop ended. */
  async flushOutcomes(): Promise<void> {
    while (this.pendingOutcomes.size > 0 || this.behind.size > 0)
      await Promise.all([...this.pendingOutcomes, ...this.behind]);
  }

  private async open(signal: TradeSignal, gate: BatchGate): Promise<void> {
    const requestId = openRequestId(signal.id);
    const settlement = new OrderSettlement({
      requestId,
      restored: signal.restoredAtMs !== undefined,
      ...(signal.restoredAtMs === undefined ? {} : { restoredAtMs: signal.restoredAtMs }),
      receivedAtMs: signal.receivedAtMs,
      maxAgeMs: this.settings.maxAgeMs,
      resolveWaitMs: Math.min(MAX_RESOLVE_WAIT_MS, Math.floor(this.settings.heartbeatStaleAfterMs / 2)),
      laterMaxDelayMs: LATER_MAX_DELAY_MS,
      absentAfterMs: ABSENT_AFTER_MS,
      loopWaitForAbsenceMs: LOOP_WAIT_FOR_ABSENCE_MS,
      restoredListRetries: RESTORED_LIST_RETRIES,
      backoff: this.retry,
    });
    let sentAt: number | undefined;
    let step: SettlementStep = settlement.start();
    for (;;) {
      switch (step.kind) {
        case 'admit': {
          const refusal = this.admission(gate, signal);
          // `stopping` without a stop: a shared account's lease lapsed for a moment. Wait for it.
          step = settlement.onAdmission(
            refusal === 'stopping' && !this.context().stopping ? LEASE_LAPSED : refusal,
          );
          break;
        }
        case 'send': {
          const sized = await this.size(signal, gate);
          if (!sized.ok) {
            step = settlement.notSent({
              kind: 'failed',
              reason: sized.reason,
              error: sized.detail,
              attempts: 0,
            });
            break;
          }
          // Sizing may have asked the broker: admission's checks must still hold when it is signed.
          if (this.mayNotSendNow(signal)) {
            step = settlement.readmit();
            break;
          }
          sentAt = this.ports.clock.now();
          let ambiguous: BrokerError | undefined;
          const outcome = await executeOpenOrder(
            this.ports.broker,
            {
              request_id: requestId,
              symbol: signal.instrument,
              type: signal.side === 'buy' ? 'buy' : 'sell',
              volume: sized.volume,
              ...(signal.sl === undefined ? {} : { sl: signal.sl }),
              ...(signal.tp === undefined ? {} : { tp: signal.tp }),
              deviation: DEVIATION_POINTS,
              magic: this.settings.magic,
              comment: requestId,
            },
            this.retry,
            // A halt or a stop while the order waits out a REQUOTE or a timeout: send it no more.
            () => this.retryVerdict(signal),
            (answer) => {
              if (!answer.ok && mayHaveExecuted(answer.error)) ambiguous ??= answer.error;
            },
          );
          step = settlement.onSent(outcome, ambiguous, this.context());
          break;
        }
        case 'list':
          step = await this.listFor(settlement);
          break;
        case 'wait':
          await this.ports.scheduler.sleep(step.ms, this.stopped.signal);
          step = settlement.onWaited(this.context());
          break;
        case 'detach':
          this.ports.logger.warn(
            { signal_id: signal.id, request_id: requestId },
            'order outcome not known yet (positions not listable, or its order may still arrive); the signal stays open, settled behind the loop',
          );
          this.settleBehind(signal, requestId, settlement, sentAt);
          return;
        case 'done':
          if (step.outcome.kind === 'unfinished')
            this.ports.logger.warn(
              { signal_id: signal.id, request_id: requestId },
              'stopping with an order outcome unknown: the signal stays unfinished, and the next start or owner settles it by its comment',
            );
          this.record(signal, step.outcome, requestId, sentAt);
          return;
      }
    }
  }

  /** The rest of a settlement, behind the loop: the tick goes on while the broker cannot say. */
  private settleBehind(
    signal: TradeSignal,
    requestId: string,
    settlement: OrderSettlement,
    sentAt: number | undefined,
  ): void {
    const run = (async () => {
      let step: SettlementStep = settlement.onWaited(this.context());
      while (step.kind !== 'done') {
        if (step.kind === 'list') step = await this.listFor(settlement);
        else if (step.kind === 'wait') {
          await this.ports.scheduler.sleep(step.ms, this.stopped.signal);
          step = settlement.onWaited(this.context());
        } else throw new Error(`settlement behind the loop asked to ${step.kind}`);
      }
      if (step.outcome.kind === 'unfinished')
        this.ports.logger.warn(
          { signal_id: signal.id, request_id: requestId },
          'stopping with an order outcome unknown: the signal stays unfinished, and the next start settles it by its comment',
        );
      else this.record(signal, step.outcome, requestId, sentAt);
    })()
      .catch((error: unknown) =>
        this.ports.logger.error(
          { err: error, signal_id: signal.id },
          'settling an unknown order outcome failed',
        ),
      )
      .finally(() => this.behind.delete(run));
    this.behind.add(run);
  }

  /**
   * This account's lots for the signal (docs/accounts.md, Sizing). The symbol's contract is asked
   * of the broker (cached); `risk_percent` needs the current quote, so it asks afresh. A broker that
   * cannot describe the symbol leaves multiplier and fixed sizes on a 0.01 step.
   */
  private async size(signal: TradeSignal, gate: BatchGate): Promise<ReturnType<typeof sizeOrder>> {
    const { sizing } = this.settings;
    const risk = sizing.mode === 'risk_percent';
    const symbol = await this.symbols.get(signal.instrument, risk ? 'fresh' : 'cached');
    return sizeOrder({
      sizing,
      volume: signal.volume,
      side: signal.side === 'sell' ? 'sell' : 'buy',
      sl: signal.sl,
      maxVolume: this.settings.maxVolume,
      symbol,
      equity: gate.allowed ? gate.equity : undefined,
    });
  }

  /** Why this order may not be sent now: halted first, then the batch's read, the trading state, the rate. */
  private admission(gate: BatchGate, signal: TradeSignal): string | null {
    if (this.ports.gate.isHalted()) return 'halted';
    // Queued before a halt that has since been resumed: it came in before the halt, so never.
    if (signal.queuedAfterHalts !== undefined && this.ports.gate.haltCount() > signal.queuedAfterHalts)
      return 'halted';
    if (!gate.allowed) return gate.reason;
    // Not sent at a price nobody chose; also what bounds when an earlier run's order can still arrive.
    if (this.tooOld(signal)) return 'stale_in_queue';
    // The batch's gate may be older than the guard's latest read: that read counts too.
    const refusal = this.ports.gate.openRefusal();
    if (refusal !== null) return refusal;
    // The guard says so too; asked here as well, so that this check alone keeps an order unsent.
    if (this.ports.stopping()) return 'stopping';
    const now = this.ports.clock.now();
    if (!this.rateLimiter.tryAcquire(now)) return 'rate_limited';
    if (this.ports.hostRateLimiter !== undefined && !this.ports.hostRateLimiter.tryAcquire(now))
      return 'host_rate_limited';
    return null;
  }

  /**
   * What admission checked no longer holds: halted (or queued before a halt), too old, refused
   * by the trading state, or not to be traded here now. Asked right before the order is sent.
   */
  private mayNotSendNow(signal: TradeSignal): boolean {
    const { gate } = this.ports;
    return (
      gate.isHalted() ||
      (signal.queuedAfterHalts !== undefined && gate.haltCount() > signal.queuedAfterHalts) ||
      this.tooOld(signal) ||
      gate.openRefusal() !== null ||
      this.ports.stopping()
    );
  }

  /**
   * Before a retry of an order: abandoned when halted, stopping or too old; held while a shared
   * account's lease lapsed for a moment (no attempt is sent then; it goes on once the lease is
   * back, or is abandoned once the account stops here).
   */
  private retryVerdict(signal: TradeSignal): string | typeof HOLD_RETRY | undefined {
    if (this.ports.gate.isHalted()) return 'halted';
    if (this.context().stopping) return 'stopping';
    if (this.tooOld(signal)) return 'stale_in_queue';
    if (this.ports.stopping()) return HOLD_RETRY;
    return undefined;
  }

  /**
   * Older than SIGNAL_MAX_AGE_MS: no attempt of its order is signed any more, so an attempt of
   * any run was signed by receivedAtMs + maxAgeMs (OrderSettlement relies on it).
   */
  private tooOld(signal: TradeSignal): boolean {
    return this.ports.clock.now() - signal.receivedAtMs > this.settings.maxAgeMs;
  }

  /**
   * Lists positions for a settlement. The listing counts as of when it was asked, not answered:
   * the bridge may have read the positions at any moment in between, and a listing is a proof of
   * absence only from a given time on.
   */
  private async listFor(settlement: OrderSettlement): Promise<SettlementStep> {
    const { askedAt, listed } = await this.listings.ask();
    return settlement.onListed(listed, this.context(askedAt));
  }

  /**
   * The broker's positions, with a throw (an adapter's bug) taken as a listing that failed:
   * settlements share listings, and a throw would fail every order waiting on it as
   * `internal_error`, though any of them may have filled.
   */
  private async positionsAsValue(): Promise<BrokerResult<Position[]>> {
    try {
      return await this.ports.broker.positions();
    } catch (error) {
      this.ports.logger.error({ err: error }, 'listing positions threw; taken as not listable');
      return fail('transient', 'positions_threw', String(error));
    }
  }

  private context(now = this.ports.clock.now()): SettlementContext {
    return {
      now,
      // Ends waits for an unknown outcome: the process shutting down, or this account stopped
      // here. Not a lease that lapsed for a moment (the account goes on here; nothing is sent).
      stopping: (this.ports.shuttingDown ?? this.ports.stopping)() || this.stopped.signal.aborted,
      closedHere: (requestId) => this.ports.gate.closedPositionWithRequestId(requestId),
    };
  }

  /** `close`: close the bot's own positions (magic number) on the instrument, as the broker lists them. */
  private async closeInstrument(signal: TradeSignal): Promise<void> {
    const listed = await this.ports.broker.positions();
    if (!listed.ok)
      return this.record(signal, {
        kind: 'failed',
        reason: `positions_unavailable: ${listed.error.code}`,
        error: listed.error.message,
        attempts: 1,
      });
    const mine = listed.value.filter(
      (p) => p.symbol === signal.instrument && p.magic === this.settings.magic,
    );
    const outcomes = await Promise.all(
      mine.map((position) =>
        executeClose(
          this.ports.broker,
          {
            request_id: signalCloseRequestId(signal.id, position.ticket),
            ticket: position.ticket,
            deviation: DEVIATION_POINTS,
          },
          this.retry,
        ),
      ),
    );
    mine.forEach((position, i) => {
      const outcome = outcomes[i];
      if (outcome?.kind === 'filled' || outcome?.kind === 'already_closed')
        this.ports.gate.noteClosed(position, outcome.kind === 'filled');
    });
    const closed = outcomes.filter((o) => o.kind === 'filled' || o.kind === 'already_closed').length;
    const failed = outcomes.length - closed;
    this.ports.events.publish('positions_closed', {
      signal_id: signal.id,
      instrument: signal.instrument,
      closed,
      failed,
    });
    if (failed > 0) {
      const first = outcomes.find((o) => o.kind === 'rejected' || o.kind === 'error');
      return this.record(signal, {
        kind: 'failed',
        reason: `close_failed: ${failed} of ${outcomes.length} (${first?.reason ?? 'unknown'})`,
        attempts: Math.max(...outcomes.map((o) => o.attempts)),
      });
    }
    this.writeOutcome(signal.id, 'executed', this.ports.clock.now(), { reason: `closed ${closed}` });
  }

  /** How the signal ended, written to the ledger and published once it is on disk. */
  private record(signal: TradeSignal, outcome: SettlementOutcome, requestId?: string, sentAt?: number): void {
    const now = this.ports.clock.now();
    const withRequest = requestId === undefined ? {} : { request_id: requestId };
    switch (outcome.kind) {
      case 'executed': {
        const { fill } = outcome;
        const ticket = fill.position || fill.order;
        this.ports.gate.noteOpened({
          ticket,
          symbol: signal.instrument,
          type: signal.side === 'sell' ? 'sell' : 'buy',
          volume: fill.volume,
          price_open: fill.price,
          price_current: fill.price,
          sl: signal.sl ?? 0,
          tp: signal.tp ?? 0,
          profit: 0,
          magic: this.settings.magic,
          comment: requestId ?? '',
          time: new Date(now).toISOString(),
        });
        return this.writeOutcome(signal.id, 'executed', now, { ...withRequest, ticket }, () =>
          this.ports.events.publish('trade_executed', {
            signal_id: signal.id,
            ticket,
            instrument: signal.instrument,
            side: signal.side,
            volume: fill.volume,
            fill_price: fill.price,
            request_id: requestId ?? '',
            latency_ms: Math.max(0, now - signal.createdAtMs),
            execution_time_ms: sentAt === undefined ? 0 : Math.max(0, now - sentAt),
            attempts: outcome.attempts,
          }),
        );
      }
      case 'executed_by_position': {
        const { position } = outcome;
        return this.writeOutcome(
          signal.id,
          'executed',
          now,
          { ...withRequest, ticket: position.ticket },
          () =>
            this.ports.events.publish('trade_executed', {
              signal_id: signal.id,
              ticket: position.ticket,
              instrument: signal.instrument,
              side: signal.side,
              volume: position.volume,
              fill_price: position.price_open,
              request_id: requestId ?? '',
              latency_ms: Math.max(0, now - signal.createdAtMs),
              // Only an order this run sent has an execution time.
              execution_time_ms: outcome.sentHere && sentAt !== undefined ? Math.max(0, now - sentAt) : 0,
              attempts: outcome.attempts,
            }),
        );
      }
      case 'failed': {
        const details = {
          reason: outcome.reason,
          attempts: outcome.attempts,
          ...(outcome.attempts > 0 || outcome.reason === 'stale_after_restart' ? withRequest : {}),
          ...(outcome.retcode === undefined ? {} : { retcode: outcome.retcode }),
          ...(outcome.error === undefined ? {} : { error: outcome.error }),
        };
        const ledger: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'> = { reason: outcome.reason };
        if (details.request_id !== undefined) ledger.request_id = details.request_id;
        return this.writeOutcome(signal.id, 'failed', now, ledger, () =>
          this.ports.events.publish('trade_failed', { signal_id: signal.id, ...details }),
        );
      }
      case 'rejected':
        return this.writeOutcome(signal.id, 'rejected', now, { reason: outcome.reason }, () =>
          this.ports.events.publish('signal_rejected', { signal_id: signal.id, reason: outcome.reason }),
        );
      case 'unfinished':
        return;
    }
  }

  /**
   * Write how a signal ended to the ledger and publish its event once that is on disk, without
   * holding up the next signal of the instrument: the broker's answer is already final, and a
   * crash before the write only means the restart asks the broker again with the same request id.
   * A failed write is tried again until it is written or this account stops here: while the
   * process goes on trading the account, nothing else would ever end the signal (a shared
   * account's lease lapsing for a moment refuses writes, then holds again).
   */
  private writeOutcome(
    id: string,
    status: 'executed' | 'failed' | 'rejected',
    at: number,
    details: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'>,
    publish?: () => void,
  ): void {
    const write = (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.ports.ledger.update(id, status, at, details);
          publish?.();
          return;
        } catch (error) {
          const stopped = this.stopped.signal.aborted;
          if (attempt === 0 || stopped)
            this.ports.logger.error(
              { err: error, signal_id: id, status },
              stopped
                ? 'could not record how a signal ended; the account stopped here, so its next start or owner settles it'
                : 'could not record how a signal ended; trying again',
            );
          if (stopped) return;
          await this.ports.scheduler.sleep(
            Math.min(OUTCOME_RETRY_MAX_MS, OUTCOME_RETRY_BASE_MS * 2 ** attempt),
            this.stopped.signal,
          );
        }
      }
    })().finally(() => this.pendingOutcomes.delete(write));
    this.pendingOutcomes.add(write);
  }
}

/**
 * Answers after which the order may have executed: no answer (`unknown_outcome`), or an answer we
 * could not read (`invalid_response`: a 200 whose body is garbage may still report a real fill).
 */
function mayHaveExecuted(error: BrokerError): boolean {
  return error.kind === 'unknown_outcome' || error.kind === 'invalid_response';
}
