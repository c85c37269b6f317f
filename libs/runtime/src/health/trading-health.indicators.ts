import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { SCALE_OUT, type Clock, type ScaleOut } from '@app/core';
import { Lifecycle } from '@app/common';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { TradingAccounts } from '../accounts/trading-accounts';

/** Readiness asks the database at most this long (probes time out after a few seconds). */
const DATABASE_PROBE_TIMEOUT_MS = 1_000;

/** The health indicators behind /health, /health/live and /health/ready. */
@Injectable()
export class TradingHealthIndicators {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly accounts: TradingAccounts,
    private readonly lifecycle: Lifecycle,
    private readonly health: HealthIndicatorService,
    @Inject(SCALE_OUT) private readonly scaleOut: ScaleOut | null,
  ) {}

  /**
   * Liveness: fails only when this process is stuck: no heartbeat for HEARTBEAT_STALE_AFTER_MS
   * (no account's loop completed a tick). One stale account does not fail it (docs/accounts.md).
   */
  heartbeat() {
    const check = this.health.check('heartbeat');
    const ageMs = this.accounts.heartbeat.heartbeatAgeMs(this.clock.now());
    const data = { age_ms: ageMs, stale_after_ms: this.config.heartbeatStaleAfterMs };
    return ageMs > this.config.heartbeatStaleAfterMs ? check.down(data) : check.up(data);
  }

  /** Files: every account's state is loaded. PostgreSQL: the database answers (docs/scale-out.md). */
  async stateLoaded() {
    const check = this.health.check('state');
    if (this.scaleOut !== null)
      return (await this.scaleOut.databaseAnswers(DATABASE_PROBE_TIMEOUT_MS))
        ? check.up()
        : check.down({ message: 'database unreachable' });
    return this.accounts.registry.ready() ? check.up() : check.down({ message: 'state not loaded' });
  }

  /**
   * One account: its broker answers and its terminal is connected (a halt does not fail readiness;
   * an outage does). Several: the process can still take signals for the others, so only every
   * account being stale (no pass completed) fails it; asking thousands of brokers per probe would not do.
   */
  async brokerReachable() {
    const check = this.health.check('broker');
    const single = this.accounts.registry.single();
    if (single === undefined) {
      const counts = this.accounts.registry.counts(this.clock.now());
      return counts.stale === counts.total && counts.total > 0
        ? check.down({ message: 'no account completes its work', ...counts })
        : check.up(counts);
    }
    const health = await single.broker.health();
    if (!health.ok) return check.down({ message: `${health.error.kind}: ${health.error.code}` });
    return health.value.connected
      ? check.up()
      : check.down({ message: 'terminal not connected to its server' });
  }

  stopping() {
    const check = this.health.check('lifecycle');
    return this.lifecycle.stopping ? check.down({ message: 'stopping' }) : check.up();
  }
}
