import { ServiceUnavailableException } from '@nestjs/common';
import type { AccountRuntime } from '@app/core';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** What `GET status` answers for one account (docs/service.md, docs/accounts.md). */
export function accountStatus(
  runtime: AccountRuntime,
  loopId: string,
  stopping: boolean,
  lastHeartbeatAt: number | null,
) {
  const risk = runtime.guard.snapshot();
  return {
    state: stopping || runtime.loop.isStopping ? 'stopping' : risk.halted ? 'halted' : 'running',
    // The account's trading state, finer than `state`: active, reducing, halted, blind, stopping.
    trading_state: risk.state,
    loop_id: loopId,
    halt:
      risk.halt === null
        ? null
        : {
            id: risk.halt.id,
            reason: risk.halt.reason,
            source: risk.halt.source,
            at: iso(risk.halt.at),
            drawdown_percent: risk.halt.drawdownPercent,
            ...(risk.halt.scope === 'all' ? { scope: 'all' } : {}),
          },
    equity: risk.equity,
    baseline_equity: risk.baselineEquity,
    drawdown_percent: risk.drawdownPercent,
    daily_drawdown_percent: risk.dailyDrawdownPercent,
    cap_percent: risk.capPercent,
    daily_cap_percent: risk.dailyCapPercent,
    open_positions: risk.openPositions,
    closing_positions: risk.closingInProgress,
    equity_reads_blocked: risk.equityReadsBlocked,
    last_heartbeat_at: iso(lastHeartbeatAt),
    counters: runtime.counters.snapshot(),
  };
}

/** Open positions as the account's broker lists them; 503 when it cannot. */
export async function accountPositions(runtime: AccountRuntime) {
  const positions = await runtime.broker.positions();
  if (!positions.ok)
    throw new ServiceUnavailableException({
      status: 'unavailable',
      reason: positions.error.code,
      message: positions.error.message,
    });
  return { positions: positions.value };
}
