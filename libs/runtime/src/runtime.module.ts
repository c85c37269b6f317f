import { Global, Logger, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import {
  ALERT_SINK,
  AUDIT_LOG,
  AccountRuntime,
  BROKER_GATEWAY,
  DrawdownGuard,
  EVENT_SINK,
  HEARTBEAT_STAMP,
  RISK_STATE_STORE,
  SCHEDULER,
  SIGNAL_LEDGER,
  SignalIntake,
  TradingLoop,
  createAccountRuntime,
  type AlertSink,
  type AuditLog,
  type BrokerGateway,
  type Clock,
  type EventSink,
  type RiskStateStore,
  type Scheduler,
  type SignalLedger,
} from '@app/core';
import { Lifecycle } from '@app/common';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { DrawdownModule } from '@app/drawdown';
import { accountSettingsFromConfig } from './account-settings';
import { coreLoggerFor } from './core-logger';
import { HealthController } from './health/health.controller';
import { TradingHealthIndicators } from './health/trading-health.indicators';
import { SharedHeartbeatStamp } from './heartbeat/heartbeat-stamp';
import { HeartbeatWatchdogService } from './heartbeat/heartbeat-watchdog.service';

/**
 * Builds the account's runtime from the configuration and the adapters (one factory,
 * createAccountRuntime), starts it, and serves the probes. Its parts are exported by their core
 * classes, for the control surfaces, metrics and the graceful stop.
 */
@Global()
@Module({
  imports: [TerminusModule, DrawdownModule],
  controllers: [HealthController],
  providers: [
    SharedHeartbeatStamp,
    { provide: HEARTBEAT_STAMP, useExisting: SharedHeartbeatStamp },
    {
      provide: AccountRuntime,
      inject: [
        APP_CONFIG,
        CLOCK,
        SCHEDULER,
        BROKER_GATEWAY,
        SIGNAL_LEDGER,
        RISK_STATE_STORE,
        AUDIT_LOG,
        EVENT_SINK,
        ALERT_SINK,
        HEARTBEAT_STAMP,
        Lifecycle,
      ],
      useFactory: (
        config: AppConfig,
        clock: Clock,
        scheduler: Scheduler,
        broker: BrokerGateway,
        ledger: SignalLedger,
        riskState: RiskStateStore,
        audit: AuditLog,
        events: EventSink,
        alerts: AlertSink,
        stamp: SharedHeartbeatStamp,
        lifecycle: Lifecycle,
      ) =>
        createAccountRuntime(accountSettingsFromConfig(config), {
          broker,
          ledger,
          riskState,
          audit,
          events,
          alerts,
          stamp,
          scheduler,
          clock,
          logger: coreLoggerFor(new Logger('trading')),
          stopping: () => lifecycle.stopping,
        }),
    },
    {
      provide: DrawdownGuard,
      inject: [AccountRuntime],
      useFactory: (runtime: AccountRuntime) => runtime.guard,
    },
    {
      provide: SignalIntake,
      inject: [AccountRuntime],
      useFactory: (runtime: AccountRuntime) => runtime.intake,
    },
    { provide: TradingLoop, inject: [AccountRuntime], useFactory: (runtime: AccountRuntime) => runtime.loop },
    HeartbeatWatchdogService,
    TradingHealthIndicators,
  ],
  exports: [AccountRuntime, DrawdownGuard, SignalIntake, TradingLoop, HEARTBEAT_STAMP],
  // RuntimeLifecycle (which starts the runtime) is provided by the application's root module: see there.
})
export class RuntimeModule {}
