import type { Position } from '@app/core';
import type { GuardSnapshot } from '@app/core';

const money = (value: number | null): string => (value === null ? 'unknown' : value.toFixed(2));
const percent = (value: number | null): string => (value === null ? 'unknown' : `${value.toFixed(1)}%`);

/** The answer to /status: the same facts as GET /api/v1/status, for a phone screen. */
export function statusText(
  loopId: string,
  risk: GuardSnapshot,
  pendingApprovals: number,
  accountId?: string,
): string {
  const lines = [
    `State: ${risk.halted ? 'halted' : 'running'} (${accountId === undefined ? '' : `account ${accountId}, `}loop ${loopId})`,
    `Equity ${money(risk.equity)}; baseline ${money(risk.baselineEquity)}; drawdown ${percent(risk.drawdownPercent)} of cap ${risk.capPercent}%`,
    `Open positions: ${risk.openPositions ?? 'unknown'}`,
  ];
  if (risk.halt !== null)
    lines.push(
      `Halted since ${new Date(risk.halt.at).toISOString()} (${risk.halt.source}): ${risk.halt.reason}`,
    );
  if (risk.equityReadsBlocked) lines.push('Equity unreadable: no new positions until it reads again');
  if (pendingApprovals > 0) lines.push(`Signals waiting for approval: ${pendingApprovals}`);
  return lines.join('\n');
}

/** The answer to /positions. */
export function positionsText(positions: readonly Position[]): string {
  if (positions.length === 0) return 'No open positions';
  const shown = positions
    .slice(0, 30)
    .map(
      (p) => `#${p.ticket} ${p.symbol} ${p.type} ${p.volume} @ ${p.price_open} P/L ${p.profit.toFixed(2)}`,
    );
  if (positions.length > shown.length) shown.push(`... and ${positions.length - shown.length} more`);
  return [`Open positions: ${positions.length}`, ...shown].join('\n');
}
