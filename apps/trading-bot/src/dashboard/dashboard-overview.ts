import type { AccountRegistry, AccountStatus } from '@app/core';
import type { AnalyticsService } from '@app/analytics';

/** One account as the overview table shows it (times are epoch ms: the page computes ages). */
export interface OverviewRow {
  id: string;
  state: AccountStatus;
  equity: number | null;
  drawdown_percent: number | null;
  cap_percent: number;
  daily_drawdown_percent: number | null;
  daily_cap_percent: number | null;
  open_positions: number | null;
  last_heartbeat_at: number | null;
  signal_to_execution_p99_ms: number | null;
}

export interface Overview {
  now: number;
  accounts: OverviewRow[];
}

/**
 * Every account this process trades in one answer: the page asks once instead of once per
 * account, and each row costs a few field reads (the latency percentiles without the curve).
 */
export function overviewOf(registry: AccountRegistry, analytics: AnalyticsService, now: number): Overview {
  const accounts = registry.all().map((runtime): OverviewRow => {
    const risk = runtime.guard.snapshot();
    return {
      id: runtime.id,
      state: registry.stateOf(runtime, now),
      equity: risk.equity,
      drawdown_percent: risk.drawdownPercent,
      cap_percent: risk.capPercent,
      daily_drawdown_percent: risk.dailyDrawdownPercent,
      daily_cap_percent: risk.dailyCapPercent,
      open_positions: risk.openPositions,
      last_heartbeat_at: runtime.progress.lastPassAt,
      signal_to_execution_p99_ms: analytics.latencyOf(runtime.id).signal_to_execution.p99,
    };
  });
  return { now, accounts };
}
