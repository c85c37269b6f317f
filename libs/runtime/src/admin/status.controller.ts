import { Controller, Get, Inject, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import type { BrokerGateway } from '@app/core';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { AdminTokenGuard } from '@app/common';
import { DrawdownGuard } from '@app/drawdown';
import { BROKER_GATEWAY } from '@app/mt5';
import { HeartbeatService } from '../heartbeat/heartbeat.service';
import { TradingLoop } from '../loop/trading-loop';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

@Controller('api/v1')
@UseGuards(AdminTokenGuard)
export class StatusController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BROKER_GATEWAY) private readonly broker: BrokerGateway,
    private readonly guard: DrawdownGuard,
    private readonly loop: TradingLoop,
    private readonly heartbeat: HeartbeatService,
  ) {}

  @Get('status')
  status() {
    const risk = this.guard.snapshot();
    return {
      state: this.loop.isStopping ? 'stopping' : risk.halted ? 'halted' : 'running',
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
      last_heartbeat_at: iso(this.loop.progress.lastHeartbeatAt),
      counters: this.heartbeat.counters.snapshot(),
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
