import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { DrawdownModule } from '@app/drawdown';
import { SignalsModule } from '@app/signals';
import { DebugFaultsController } from './admin/debug-faults.controller';
import { StatusController } from './admin/status.controller';
import { HealthController } from './health/health.controller';
import { TradingHealthIndicators } from './health/trading-health.indicators';
import { HEARTBEAT_STAMP, SharedHeartbeatStamp } from './heartbeat/heartbeat-stamp';
import { HeartbeatService } from './heartbeat/heartbeat.service';
import { HeartbeatWatchdogService } from './heartbeat/heartbeat-watchdog.service';
import { RETRY_POLICY, retryPolicyFromConfig } from './loop/retry-policy';
import { SignalExecutor } from './loop/signal-executor';
import { TradingLoop } from './loop/trading-loop';

/** The trading loop, its heartbeat, probes, status and the debug fault injectors. */
@Module({
  imports: [TerminusModule, DrawdownModule, SignalsModule],
  controllers: [HealthController, StatusController, DebugFaultsController],
  providers: [
    TradingLoop,
    SignalExecutor,
    HeartbeatService,
    HeartbeatWatchdogService,
    TradingHealthIndicators,
    {
      provide: RETRY_POLICY,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => retryPolicyFromConfig(config),
    },
    { provide: HEARTBEAT_STAMP, useFactory: () => new SharedHeartbeatStamp() },
  ],
  exports: [TradingLoop, HeartbeatService, HEARTBEAT_STAMP],
})
export class RuntimeModule {}
