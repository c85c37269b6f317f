import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { TradingHealthIndicators } from './trading-health.indicators';

/** Probes (no auth). Liveness is only "is this process stuck"; readiness adds state, broker and stopping. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: TradingHealthIndicators,
  ) {}

  @Get()
  @HealthCheck()
  all() {
    return this.health.check([
      () => this.indicators.heartbeat(),
      () => this.indicators.stateLoaded(),
      () => this.indicators.brokerReachable(),
      () => this.indicators.stopping(),
    ]);
  }

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.indicators.heartbeat()]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.indicators.stateLoaded(),
      () => this.indicators.stopping(),
      () => this.indicators.brokerReachable(),
    ]);
  }
}
