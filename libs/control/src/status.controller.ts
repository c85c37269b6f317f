import { Controller, Get, Inject, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import { AccountRuntime, BROKER_GATEWAY, type BrokerGateway } from '@app/core';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { AdminTokenGuard, Lifecycle } from '@app/common';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

@Controller('api/v1')
@UseGuards(AdminTokenGuard)
export class StatusController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BROKER_GATEWAY) private readonly broker: BrokerGateway,
    private readonly runtime: AccountRuntime,
    private readonly lifecycle: Lifecycle,
  ) {}

  @Get('status')
  status() {
    const risk = this.runtime.guard.snapshot();
    const stopping = this.runtime.loop.isStopping || this.lifecycle.stopping;
    return {
      state: stopping ? 'stopping' : risk.halted ? 'halted' : 'running',
      // The account's trading state, finer than `state`: active, reducing, halted, blind, stopping.
      trading_state: risk.state,
      loop_id: this.config.loopId,
      halt:
        risk.halt === null
          ? null
          : {
              id: risk.halt.id,
              reason: risk.halt.reason,
              source: risk.halt.source,
              at: iso(risk.halt.at),
              drawdown_percent: risk.halt.drawdownPercent,
            },
      equity: risk.equity,
      baseline_equity: risk.baselineEquity,
      drawdown_percent: risk.drawdownPercent,
      daily_drawdown_percent: risk.dailyDrawdownPercent,
      cap_percent: risk.capPercent,
      daily_cap_percent: this.config.risk.dailyLossCapPercent ?? null,
      open_positions: risk.openPositions,
      closing_positions: risk.closingInProgress,
      equity_reads_blocked: risk.equityReadsBlocked,
      last_heartbeat_at: iso(this.runtime.loop.progress.lastHeartbeatAt),
      counters: this.runtime.counters.snapshot(),
    };
  }

  /** Open positions as the broker lists them. */
  @Get('positions')
  async positions() {
    const positions = await this.broker.positions();
    if (!positions.ok)
      throw new ServiceUnavailableException({
        status: 'unavailable',
        reason: positions.error.code,
        message: positions.error.message,
      });
    return { positions: positions.value };
  }
}
