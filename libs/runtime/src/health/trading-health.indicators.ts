import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import {
  BROKER_GATEWAY,
  STATE_LOAD_REPORT,
  TradingLoop,
  type BrokerGateway,
  type Clock,
  type StateLoadReport,
} from '@app/core';
import { Lifecycle } from '@app/common';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';

/** The health indicators behind /health, /health/live and /health/ready. */
@Injectable()
export class TradingHealthIndicators {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BROKER_GATEWAY) private readonly gateway: BrokerGateway,
    @Inject(STATE_LOAD_REPORT) private readonly loaded: StateLoadReport | undefined,
    private readonly loop: TradingLoop,
    private readonly lifecycle: Lifecycle,
    private readonly health: HealthIndicatorService,
  ) {}

  /** Liveness: fails only when this process is stuck (no heartbeat for HEARTBEAT_STALE_AFTER_MS). */
  heartbeat() {
    const check = this.health.check('heartbeat');
    const ageMs = this.loop.progress.heartbeatAgeMs(this.clock.now());
    const data = { age_ms: ageMs, stale_after_ms: this.config.heartbeatStaleAfterMs };
    return ageMs > this.config.heartbeatStaleAfterMs ? check.down(data) : check.up(data);
  }

  stateLoaded() {
    const check = this.health.check('state');
    return this.loaded !== undefined ? check.up() : check.down({ message: 'state not loaded' });
  }

  /** The broker answers and its terminal is connected. A halt does not fail readiness; an outage does. */
  async brokerReachable() {
    const check = this.health.check('broker');
    const health = await this.gateway.health();
    if (!health.ok) return check.down({ message: `${health.error.kind}: ${health.error.code}` });
    return health.value.connected
      ? check.up()
      : check.down({ message: 'terminal not connected to its server' });
  }

  stopping() {
    const check = this.health.check('lifecycle');
    return this.loop.isStopping || this.lifecycle.stopping ? check.down({ message: 'stopping' }) : check.up();
  }
}
