import type { AlertSink } from '../alerts/alert';
import type { BrokerGateway } from '../broker/broker-gateway.port';
import type { EventSink } from '../events/event-sink.port';
import { SignalExecutor } from '../execution/signal-executor';
import { TradingLoop } from '../execution/trading-loop';
import { countingEvents, Heartbeat, type HeartbeatStamp } from '../heartbeat/heartbeat';
import { TradingCounters } from '../heartbeat/trading-counters';
import type { CoreLogger } from '../logging/core-logger.port';
import { DrawdownGuard, type GuardStartup } from '../risk/drawdown-guard';
import type { DrawdownPolicyOptions } from '../risk/drawdown-policy';
import { SignalIntake } from '../signals/signal-intake';
import type { AuditLog } from '../state/audit-log.port';
import type { RiskStateStore } from '../state/risk-state-store.port';
import type { SignalLedger, UnfinishedSignal } from '../state/signal-ledger.port';
import type { Clock } from '../time/clock';
import type { Scheduler } from '../time/scheduler';

/** One account's trading configuration: everything the runtime needs, nothing it does not. */
export interface AccountSettings {
  loopId: string;
  loopTickMs: number;
  heartbeat: { intervalMs: number; staleAfterMs: number };
  risk: DrawdownPolicyOptions & { equityCheckIntervalMs: number };
  mt5: { magic: number; maxRetries: number };
  signals: { approvalMode: 'auto' | 'manual'; maxOrdersPerSecond: number; maxAgeMs: number };
  /** Where the account's state lives, for alert texts. */
  where: string;
}

/** The account's side effects, as ports: adapters are picked by whoever builds the runtime. */
export interface AccountPorts {
  broker: BrokerGateway;
  ledger: SignalLedger;
  riskState: RiskStateStore;
  audit: AuditLog;
  events: EventSink;
  alerts: AlertSink;
  stamp: HeartbeatStamp;
  scheduler: Scheduler;
  clock: Clock;
  logger: CoreLogger;
  /** The process is stopping (or lost the account). */
  stopping: () => boolean;
}

/** What start-up found on disk (or in the database) for this account. */
export interface AccountStartup extends GuardStartup {
  unfinished: readonly UnfinishedSignal[];
}

/**
 * One account's trading, as one object graph: the drawdown guard (and its halt sequence), the
 * signal intake, the executor (order settlement), the trading loop and the heartbeat. Built by
 * `createAccountRuntime`; the Nest modules only start, stop and expose it.
 */
export class AccountRuntime {
  readonly counters = new TradingCounters();
  readonly guard: DrawdownGuard;
  readonly intake: SignalIntake;
  readonly executor: SignalExecutor;
  readonly loop: TradingLoop;
  readonly heartbeat: Heartbeat;
  private started = false;

  constructor(
    readonly settings: AccountSettings,
    ports: AccountPorts,
  ) {
    const events = countingEvents(ports.events, this.counters);
    const { broker, scheduler, clock, logger, stopping } = ports;
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
      { approvalMode: settings.signals.approvalMode, loopId: settings.loopId, where: settings.where },
      {
        ledger: ports.ledger,
        ready: () => this.started,
        isHalted: () => this.guard.isHalted(),
        stopping,
        events,
        alerts: ports.alerts,
        clock,
        logger,
      },
    );
    this.executor = new SignalExecutor(
      {
        magic: settings.mt5.magic,
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
      { broker, ledger: ports.ledger, events, gate: this.guard, scheduler, clock, logger, stopping },
    );
    this.loop = new TradingLoop(settings.loopTickMs, {
      queue: this.intake,
      executor: this.executor,
      preTradeCheck: () => this.guard.preTradeCheck(),
      scheduler,
      clock,
      logger,
    });
    this.heartbeat = new Heartbeat(
      { intervalMs: settings.heartbeat.intervalMs, loopId: settings.loopId },
      {
        progress: this.loop.progress,
        counters: this.counters,
        account: () => this.guard.snapshot(),
        events,
        stamp: ports.stamp,
        scheduler,
        clock,
      },
    );
  }

  /** Latch and baselines first (untrusted state starts halted), then unfinished signals, then the loop. */
  async start(startup: AccountStartup): Promise<void> {
    await this.guard.start(startup);
    this.started = true;
    this.intake.onWork(() => this.loop.wake());
    await this.intake.restoreUnfinished(startup.unfinished);
    this.loop.start();
    this.heartbeat.start();
  }

  /** Graceful stop, first part: no new tick, the tick in flight finishes, outcomes are written. */
  async stopTrading(): Promise<void> {
    this.executor.stop();
    await this.loop.stop();
  }

  /** Last part: the guard's checks and the heartbeat stop (after any close-all of the stop). */
  stop(): void {
    this.guard.stop();
    this.heartbeat.stop();
  }
}

/** The one factory of an account's runtime. */
export function createAccountRuntime(settings: AccountSettings, ports: AccountPorts): AccountRuntime {
  return new AccountRuntime(settings, ports);
}
