import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import {
  ALERT_SINK,
  AccountRegistry,
  BROKER_FLEET,
  EVENT_SINK,
  HEARTBEAT_STAMP,
  ProcessHeartbeat,
  SCALE_OUT,
  SCHEDULER,
  STATE_BACKEND,
  SignalFanOut,
  type AccountSettings,
  type AlertSink,
  type BrokerFleet,
  type Clock,
  type EventSink,
  type ScaleOut,
  type Scheduler,
  type StateBackend,
} from '@app/core';
import { Lifecycle } from '@app/common';
import { APP_CONFIG, AccountConfigs, CLOCK, type AppConfig } from '@app/config';
import { DRAWDOWN_SETTINGS, DrawdownModule } from '@app/drawdown';
import { TradingAccounts } from './accounts/trading-accounts';
import { HealthController } from './health/health.controller';
import { TradingHealthIndicators } from './health/trading-health.indicators';
import { SharedHeartbeatStamp } from './heartbeat/heartbeat-stamp';
import { HeartbeatWatchdogService } from './heartbeat/heartbeat-watchdog.service';

/**
 * Builds every account's runtime from the configuration and the adapters (one factory,
 * createAccountRuntime, per account), and serves the probes. Exports the accounts (AccountRegistry),
 * the signal fan-out and the process heartbeat, for the signal sources, control surfaces, metrics
 * and the graceful stop.
 */
@Global()
@Module({
  imports: [TerminusModule, DrawdownModule],
  controllers: [HealthController],
  providers: [
    SharedHeartbeatStamp,
    { provide: HEARTBEAT_STAMP, useExisting: SharedHeartbeatStamp },
    {
      provide: TradingAccounts,
      inject: [
        APP_CONFIG,
        CLOCK,
        SCHEDULER,
        DRAWDOWN_SETTINGS,
        STATE_BACKEND,
        BROKER_FLEET,
        EVENT_SINK,
        ALERT_SINK,
        HEARTBEAT_STAMP,
        Lifecycle,
        SCALE_OUT,
        AccountConfigs,
      ],
      useFactory: (
        config: AppConfig,
        clock: Clock,
        scheduler: Scheduler,
        drawdown: ReadonlyMap<string, AccountSettings['risk']>,
        backend: StateBackend,
        brokers: BrokerFleet,
        events: EventSink,
        alerts: AlertSink,
        stamp: SharedHeartbeatStamp,
        lifecycle: Lifecycle,
        scaleOut: ScaleOut | null,
        accounts: AccountConfigs,
      ) =>
        TradingAccounts.build(config, {
          drawdown,
          backend,
          brokers,
          events,
          alerts,
          stamp,
          scheduler,
          clock,
          lifecycle,
          scaleOut,
          accounts,
        }),
    },
    { provide: AccountRegistry, inject: [TradingAccounts], useFactory: (a: TradingAccounts) => a.registry },
    { provide: SignalFanOut, inject: [TradingAccounts], useFactory: (a: TradingAccounts) => a.fanOut },
    { provide: ProcessHeartbeat, inject: [TradingAccounts], useFactory: (a: TradingAccounts) => a.heartbeat },
    HeartbeatWatchdogService,
    TradingHealthIndicators,
  ],
  exports: [TradingAccounts, AccountRegistry, SignalFanOut, ProcessHeartbeat, HEARTBEAT_STAMP],
  // RuntimeLifecycle (which starts the accounts) is provided by the application's root module: see there.
})
export class RuntimeModule {}
