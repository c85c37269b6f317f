import { Logger } from '@nestjs/common';
import {
  AccountRegistry,
  ProcessHeartbeat,
  SignalFanOut,
  accountAlerts,
  accountEvents,
  accountLedger,
  createAccountRuntime,
  mapWithConcurrency,
  OrderRateLimiter,
  type AccountSettings,
  type AccountState,
  type AlertSink,
  type BrokerFleet,
  type Clock,
  type CloseAllReport,
  type EventSink,
  type HeartbeatStamp,
  type Scheduler,
  type StateBackend,
} from '@app/core';
import type { Lifecycle } from '@app/common';
import type { AppConfig } from '@app/config';
import { accountSettingsFor } from '../account-settings';
import { coreLoggerFor } from '../core-logger';

/** Accounts whose state is opened, or whose latch is loaded, at once at start-up. */
const START_CONCURRENCY = 32;

export interface TradingAccountsPorts {
  /** Each account's drawdown guard settings, by account id (DrawdownModule). */
  drawdown: ReadonlyMap<string, AccountSettings['risk']>;
  backend: StateBackend;
  brokers: BrokerFleet;
  events: EventSink;
  alerts: AlertSink;
  stamp: HeartbeatStamp;
  scheduler: Scheduler;
  clock: Clock;
  lifecycle: Lifecycle;
}

/**
 * Every account the process trades (docs/accounts.md), built from the configuration by the one
 * factory `createAccountRuntime`, each on its own state and broker, plus what spans them: the
 * signal fan-out and the process heartbeat. Built before the application starts; `start` starts
 * them once every module is up.
 */
export class TradingAccounts {
  readonly registry = new AccountRegistry();
  readonly fanOut: SignalFanOut;
  readonly heartbeat: ProcessHeartbeat;
  private readonly states = new Map<string, AccountState>();

  private constructor(config: AppConfig, ports: TradingAccountsPorts) {
    const stopping = () => ports.lifecycle.stopping;
    this.fanOut = new SignalFanOut(
      { loopId: config.loopId, where: config.stateDir },
      {
        ledger: ports.backend.ledger,
        accounts: this.registry,
        stopping,
        alerts: ports.alerts,
        clock: ports.clock,
        logger: coreLoggerFor(new Logger('signals')),
      },
    );
    this.heartbeat = new ProcessHeartbeat(
      {
        intervalMs: config.heartbeatIntervalMs,
        staleAfterMs: config.heartbeatStaleAfterMs,
        loopId: config.loopId,
        // With one account the process's own watchdog alert says it all (docs/service.md).
        alertStaleAccounts: config.accounts.length > 1,
      },
      {
        accounts: () => this.registry.all(),
        counts: (now) => this.registry.counts(now),
        events: ports.events,
        alerts: ports.alerts,
        stamp: ports.stamp,
        scheduler: ports.scheduler,
        clock: ports.clock,
      },
    );
  }

  /** Opens every account's state and builds its runtime; nothing trades yet. */
  static async build(config: AppConfig, ports: TradingAccountsPorts): Promise<TradingAccounts> {
    const accounts = new TradingAccounts(config, ports);
    const several = config.accounts.length > 1;
    const hostRateLimiter = new OrderRateLimiter(config.signals.hostMaxOrdersPerSecond);
    const opened = await mapWithConcurrency(config.accounts, START_CONCURRENCY, async (account) => ({
      account,
      state: await ports.backend.openAccount(account.id),
    }));
    for (const { account, state } of opened) {
      accounts.states.set(account.id, state);
      const risk = ports.drawdown.get(account.id);
      if (risk === undefined) throw new Error(`account ${account.id} has no drawdown settings`);
      const runtime = createAccountRuntime(accountSettingsFor(config, account, risk), {
        broker: ports.brokers.gateway(account.id),
        ledger: accountLedger(ports.backend.ledger, account.id),
        riskState: state.riskState,
        audit: state.audit,
        events: accountEvents(ports.events, account.id),
        alerts: accountAlerts(ports.alerts, account.id, several),
        scheduler: ports.scheduler,
        clock: ports.clock,
        logger: coreLoggerFor(new Logger('trading'), account.id),
        stopping: () => ports.lifecycle.stopping,
        hostRateLimiter,
      });
      accounts.registry.add(runtime);
    }
    return accounts;
  }

  /** Latches and baselines first, then unfinished signals, then the loops; the heartbeat once all run. */
  async start(): Promise<void> {
    await mapWithConcurrency(this.registry.all(), START_CONCURRENCY, async (runtime) => {
      const state = this.states.get(runtime.id);
      if (state === undefined) throw new Error(`account ${runtime.id} has no state`);
      await runtime.start({
        riskState: await state.riskState.load(),
        problems: state.loaded.problems,
        ledgerTrusted: state.loaded.ledgerTrusted,
        unfinished: state.loaded.unfinished,
        where: state.loaded.where,
      });
    });
    this.heartbeat.start();
  }

  /** Graceful stop, first part: no new tick anywhere; ticks in flight finish, outcomes are written. */
  async stopTrading(): Promise<void> {
    await Promise.all(this.registry.all().map((runtime) => runtime.stopTrading()));
  }

  /** Every account closes its positions at once, each within the budget (CLOSE_ON_SHUTDOWN). */
  async closeAllForShutdown(budgetMs: number): Promise<{ closed: number; failed: number }> {
    const reports = await Promise.allSettled(
      this.registry.all().map((runtime) => runtime.guard.closeAllForShutdown(budgetMs)),
    );
    let closed = 0;
    let failed = 0;
    for (const report of reports) {
      if (report.status === 'rejected') {
        failed++;
        continue;
      }
      const value: CloseAllReport = report.value;
      closed += value.closed;
      failed += value.failed + (value.listUnavailable ? 1 : 0);
    }
    return { closed, failed };
  }

  /** Last part: the guards' checks and the heartbeat stop. */
  stop(): void {
    for (const runtime of this.registry.all()) runtime.stop();
    this.heartbeat.stop();
  }
}
