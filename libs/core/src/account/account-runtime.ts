import type { AlertSink } from '../alerts/alert';
import type { BrokerGateway } from '../broker/broker-gateway.port';
import type { EventSink } from '../events/event-sink.port';
import { SignalExecutor } from '../execution/signal-executor';
import { TradingLoop } from '../execution/trading-loop';
import { AccountProgress } from '../heartbeat/account-progress';
import { countingEvents } from '../heartbeat/heartbeat';
import { TradingCounters } from '../heartbeat/trading-counters';
import type { CoreLogger } from '../logging/core-logger.port';
import { DrawdownGuard, type GuardStartup } from '../risk/drawdown-guard';
import type { DrawdownPolicyOptions } from '../risk/drawdown-policy';
import type { Sizing } from '../execution/order-sizing';
import type { FanOutAccount } from '../signals/signal-fan-out';
import { SignalIntake } from '../signals/signal-intake';
import type { TradeSignal } from '../signals/trade-signal';
import type { AuditLog } from '../state/audit-log.port';
import type { RiskStateStore } from '../state/risk-state-store.port';
import type { AccountSignalLedger, UnfinishedSignal } from '../state/signal-ledger.port';
import type { AccountState } from '../state/state-backend.port';
import type { Clock } from '../time/clock';
import type { Scheduler } from '../time/scheduler';

/** One account's trading configuration: everything the runtime needs, nothing it does not. */
export interface AccountSettings {
  /** The account's id (docs/accounts.md); `default` for the one account of a service without ACCOUNTS_FILE. */
  accountId: string;
  /** Channels whose signals this account trades. */
  channels: readonly string[];
  loopId: string;
  loopTickMs: number;
  heartbeat: { intervalMs: number; staleAfterMs: number };
  risk: DrawdownPolicyOptions & { equityCheckIntervalMs: number };
  mt5: { magic: number; maxRetries: number };
  signals: { approvalMode: 'auto' | 'manual'; maxOrdersPerSecond: number; maxAgeMs: number };
  /** How this account sizes a signal's volume, and the most it trades on one. */
  sizing: Sizing;
  maxVolume: number;
  /** Where the account's state lives, for alert texts. */
  where: string;
}

/** The account's side effects, as ports: adapters are picked by whoever builds the runtime. */
export interface AccountPorts {
  broker: BrokerGateway;
  ledger: AccountSignalLedger;
  riskState: RiskStateStore;
  audit: AuditLog;
  events: EventSink;
  alerts: AlertSink;
  scheduler: Scheduler;
  clock: Clock;
  logger: CoreLogger;
  /** The process is stopping (or lost the account). */
  stopping: () => boolean;
  /** The process is shutting down (not: the account's lease lapsed); defaults to `stopping`. */
  shuttingDown?: () => boolean;
  /** The process's order rate guard, shared by its accounts (HOST_MAX_ORDERS_PER_SECOND). */
  hostRateLimiter?: { tryAcquire(now: number): boolean };
}

/** What start-up found on disk (or in the database) for this account. */
export interface AccountStartup extends GuardStartup {
  unfinished: readonly UnfinishedSignal[];
}

/** What an account's start needs, from the state its backend opened. */
export async function accountStartup(state: AccountState): Promise<AccountStartup> {
  return {
    riskState: await state.riskState.load(),
    problems: state.loaded.problems,
    ledgerTrusted: state.loaded.ledgerTrusted,
    where: state.loaded.where,
    unfinished: state.loaded.unfinished,
  };
}

/**
 * One account's trading, as one object graph: the drawdown guard (and its halt sequence), the
 * signal intake, the executor (order settlement), the trading loop and its progress (what the
 * process heartbeat watches). Built by `createAccountRuntime`; the Nest modules only start, stop
 * and expose it.
 */
export class AccountRuntime implements FanOutAccount {
  readonly counters = new TradingCounters();
  readonly guard: DrawdownGuard;
  readonly intake: SignalIntake;
  readonly executor: SignalExecutor;
  readonly loop: TradingLoop;
  readonly progress: AccountProgress;
  /** The account's broker, for its status and positions. */
  readonly broker: BrokerGateway;
  private started = false;

  constructor(
    readonly settings: AccountSettings,
    ports: AccountPorts,
  ) {
    const { broker, scheduler, clock, logger, stopping } = ports;
    this.progress = new AccountProgress(clock.now(), settings.heartbeat.staleAfterMs);
    const events = countingEvents(ports.events, this.counters, this.progress, () => clock.now());
    this.broker = broker;
    this.guard = new DrawdownGuard(
      { ...settings.risk, magic: settings.mt5.magic, loopId: settings.loopId },
      {
        broker,
        riskState: ports.riskState,
        audit: ports.audit,
        events,
        alerts: ports.alerts,
        scheduler,
        clock,
        logger,
        stopping,
      },
    );
    this.intake = new SignalIntake(
      { approvalMode: settings.signals.approvalMode },
      {
        ledger: ports.ledger,
        isHalted: () => this.guard.isHalted(),
        haltCount: () => this.guard.haltCount(),
        events,
        clock,
        logger,
      },
    );
    this.executor = new SignalExecutor(
      {
        magic: settings.mt5.magic,
        sizing: settings.sizing,
        maxVolume: settings.maxVolume,
        maxOrdersPerSecond: settings.signals.maxOrdersPerSecond,
        maxAgeMs: settings.signals.maxAgeMs,
        heartbeatStaleAfterMs: settings.heartbeat.staleAfterMs,
        retry: {
          maxRetries: settings.mt5.maxRetries,
          baseDelayMs: 50,
          maxDelayMs: 2000,
          random: Math.random,
        },
      },
      {
        broker,
        ledger: ports.ledger,
        events,
        gate: this.guard,
        scheduler,
        clock,
        logger,
        stopping,
        ...(ports.shuttingDown === undefined ? {} : { shuttingDown: ports.shuttingDown }),
        ...(ports.hostRateLimiter === undefined ? {} : { hostRateLimiter: ports.hostRateLimiter }),
      },
    );
    this.loop = new TradingLoop(settings.loopTickMs, {
      queue: this.intake,
      executor: this.executor,
      preTradeCheck: () => this.guard.preTradeCheck(),
      scheduler,
      clock,
      logger,
    });
  }

  get id(): string {
    return this.settings.accountId;
  }

  /** True once the latch and baselines are loaded: before, nobody knows whether the account is halted. */
  get ready(): boolean {
    return this.started;
  }

  isHalted(): boolean {
    return this.guard.isHalted();
  }

  admit(signal: TradeSignal): Promise<void> {
    return this.intake.admit(signal);
  }

  rejectHalted(signal: TradeSignal): void {
    this.intake.rejectHalted(signal);
  }

  /** Latch and baselines first (untrusted state starts halted), then unfinished signals, then the loop. */
  async start(startup: AccountStartup): Promise<void> {
    await this.load(startup);
    await this.begin();
  }

  /**
   * The part of the start that needs only the state store: the latch and baselines, then the
   * signals the last run left unfinished, queued first (a `close` that arrives later must not
   * overtake the order it closes). After it the account is `ready`: everyone knows whether it is
   * halted, and new signals queue behind the restored ones.
   */
  async load(startup: AccountStartup): Promise<void> {
    await this.guard.load(startup);
    this.intake.onWork(() => this.loop.wake());
    await this.intake.restoreUnfinished(startup.unfinished);
    this.started = true;
  }

  /**
   * The part that needs the broker: the first equity reading (a breach during the downtime is
   * caught before any order), then the loop.
   */
  async begin(): Promise<void> {
    await this.guard.firstCheck();
    if (this.loop.isStopping) return;
    this.loop.start();
  }

  /** Graceful stop, first part: no new tick, the tick in flight finishes, outcomes are written. */
  async stopTrading(): Promise<void> {
    this.executor.stop();
    await this.loop.stop();
  }

  /** Last part: the guard's checks stop (after any close-all of the stop). */
  stop(): void {
    this.guard.stop();
  }

  /** What the heartbeat and the accounts list show of it. */
  snapshot(): { openPositions: number | null; equity: number | null; drawdownPercent: number | null } {
    return this.guard.snapshot();
  }
}

/** The one factory of an account's runtime. */
export function createAccountRuntime(settings: AccountSettings, ports: AccountPorts): AccountRuntime {
  return new AccountRuntime(settings, ports);
}
