import { Logger } from '@nestjs/common';
import {
  AccountRegistry,
  ProcessHeartbeat,
  SignalFanOut,
  accountAlerts,
  accountEvents,
  accountLedger,
  accountStartup,
  createAccountRuntime,
  mapWithConcurrency,
  OrderRateLimiter,
  type AccountRuntime,
  type AccountSettings,
  type AccountState,
  type AlertSink,
  type BrokerFleet,
  type Clock,
  type CloseAllReport,
  type EventSink,
  type HeartbeatStamp,
  type Scheduler,
  type ScaleOut,
  type StateBackend,
} from '@app/core';
import { coreLoggerFor, type Lifecycle } from '@app/common';
import type { AccountConfig, AccountConfigs, AppConfig } from '@app/config';
import { drawdownSettingsFor } from '@app/drawdown';
import { accountSettingsFor } from '../account-settings';
import { SharedAccounts } from './shared-accounts';

/** Accounts whose state is opened, or whose latch is loaded, at once at start-up. */
const START_CONCURRENCY = 32;

/** With several accounts, how long the start waits for the slowest broker before it is ready. */
const START_WAIT_FOR_BROKERS_MS = 5_000;

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
  /** The accounts the service knows (with STATE_BACKEND=postgres, they change at run time). */
  accounts: AccountConfigs;
  /** Several processes on one database (STATE_BACKEND=postgres); null with files. */
  scaleOut: ScaleOut | null;
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
  private readonly logger = new Logger('accounts');
  private readonly scheduler: Scheduler;
  private readonly hostRateLimiter: OrderRateLimiter;
  /** With STATE_BACKEND=postgres: the accounts this process owns come and go (docs/scale-out.md). */
  private readonly shared: SharedAccounts | undefined;

  private constructor(
    private readonly config: AppConfig,
    private readonly ports: TradingAccountsPorts,
  ) {
    this.scheduler = ports.scheduler;
    this.hostRateLimiter = new OrderRateLimiter(config.signals.hostMaxOrdersPerSecond);
    const stopping = () => ports.lifecycle.stopping;
    this.shared =
      ports.scaleOut === null
        ? undefined
        : new SharedAccounts(ports.accounts, ports.scaleOut, this.registry, {
            backend: ports.backend,
            build: (account, state) => this.createRuntime(account, state),
            brokers: ports.brokers,
            scheduler: ports.scheduler,
            logger: coreLoggerFor(new Logger('ownership')),
          });
    this.fanOut = new SignalFanOut(
      { loopId: config.loopId, where: ports.scaleOut === null ? config.stateDir : 'the database' },
      {
        ledger: ports.backend.ledger,
        accounts: this.shared?.directory ?? this.registry,
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
        beatWithoutAccounts: ports.scaleOut !== null,
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

  /**
   * Opens every account's state and builds its runtime; nothing trades yet. With
   * STATE_BACKEND=postgres none: an account's runtime is built when this process comes to own it.
   */
  static async build(config: AppConfig, ports: TradingAccountsPorts): Promise<TradingAccounts> {
    const accounts = new TradingAccounts(config, ports);
    if (ports.scaleOut !== null) return accounts;
    const opened = await mapWithConcurrency(config.accounts, START_CONCURRENCY, async (account) => ({
      account,
      state: await ports.backend.openAccount(account.id),
    }));
    for (const { account, state } of opened) {
      accounts.states.set(account.id, state);
      accounts.registry.add(accounts.createRuntime(account, state));
    }
    return accounts;
  }

  /** The one place an account's runtime is made, on its state, its broker and this process's ports. */
  private createRuntime(account: AccountConfig, state: AccountState): AccountRuntime {
    const { ports, config } = this;
    // Shared accounts may change at run time (the accounts API): their settings come from the account itself.
    const risk =
      ports.scaleOut === null ? ports.drawdown.get(account.id) : drawdownSettingsFor(config, account);
    if (risk === undefined) throw new Error(`account ${account.id} has no drawdown settings`);
    const scaleOut = ports.scaleOut;
    return createAccountRuntime(accountSettingsFor(config, account, risk), {
      broker: ports.brokers.gateway(account.id),
      ledger: accountLedger(ports.backend.ledger, account.id),
      riskState: state.riskState,
      audit: state.audit,
      events: accountEvents(ports.events, account.id),
      alerts: accountAlerts(ports.alerts, account.id, ports.accounts.size > 1),
      scheduler: ports.scheduler,
      clock: ports.clock,
      logger: coreLoggerFor(new Logger('trading'), account.id),
      // Shared accounts: no order once this process may no longer trade it (its lease ran out
      // locally, or a write or a bridge refused its epoch), checked before every send.
      stopping:
        scaleOut === null
          ? () => ports.lifecycle.stopping
          : () => ports.lifecycle.stopping || !scaleOut.mayTrade(account.id),
      // A lease lapsed for a moment is not a stop: an unknown outcome is still settled here.
      shuttingDown: () => ports.lifecycle.stopping,
      hostRateLimiter: this.hostRateLimiter,
    });
  }

  /**
   * Latches, baselines and unfinished signals of every account first (state store only), then
   * each account's broker part (first equity reading, then its loop), then the heartbeat. With one account
   * the start waits for all of it, as it always has. With several, one account whose broker does
   * not answer must not keep the others, or the inbox, waiting (docs/accounts.md, Isolation):
   * the start waits for the broker parts at most START_WAIT_FOR_BROKERS_MS; an account still
   * waiting on its broker goes on starting alone, and the heartbeat names it stale if it never
   * answers.
   */
  async start(): Promise<void> {
    if (this.shared !== undefined) {
      await this.shared.start();
      this.heartbeat.start();
      return;
    }
    const runtimes = this.registry.all();
    await mapWithConcurrency(runtimes, START_CONCURRENCY, async (runtime) => {
      const state = this.states.get(runtime.id);
      if (state === undefined) throw new Error(`account ${runtime.id} has no state`);
      await runtime.load(await accountStartup(state));
    });
    const begun = runtimes.map((runtime) => this.begin(runtime));
    if (runtimes.length === 1) await Promise.all(begun);
    else await this.waitAtMost(Promise.allSettled(begun), START_WAIT_FOR_BROKERS_MS);
    this.heartbeat.start();
  }

  /** Never rejects with several accounts: one account's broker part is its own (logged). */
  private async begin(runtime: AccountRuntime): Promise<void> {
    try {
      await runtime.begin();
    } catch (error) {
      if (this.registry.size === 1) throw error;
      this.logger.error(
        { err: error, account_id: runtime.id },
        'account start failed after its latch was loaded',
      );
    }
  }

  private async waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
    const done = new AbortController();
    await Promise.race([work, this.scheduler.sleep(ms, done.signal)]);
    done.abort();
  }

  /** Graceful stop, first part: no new tick anywhere; ticks in flight finish, outcomes are written. */
  async stopTrading(): Promise<void> {
    // Shared accounts are handed over: each stops trading, then its lease is released at once.
    if (this.shared !== undefined) await this.shared.handOver();
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
    this.shared?.stop();
    for (const runtime of this.registry.all()) runtime.stop();
    this.heartbeat.stop();
  }
}
