import type { CloseAllReport } from './close-all-positions';

/** `20` → "20", `12.5` → "12.5": caps are shown as configured, without trailing zeros. */
export function formatPercent(value: number): string {
  return Number(value.toFixed(2)).toString();
}

/**
 * The cap alert. First line as docs/service.md gives it, for the daily cap too (which it names at
 * the end): `Drawdown 25.0% exceeds cap 20%; closed 5 positions` (one decimal for the drawdown);
 * later lines add context and any positions that failed to close.
 */
export function capTriggerAlertText(input: {
  drawdownPercent: number;
  capPercent: number;
  daily: boolean;
  report: CloseAllReport;
  loopId: string;
  equity: number | null;
  baseline: number | null;
}): string {
  const { report } = input;
  const head = `Drawdown ${input.drawdownPercent.toFixed(1)}% exceeds cap ${formatPercent(input.capPercent)}%; closed ${report.closed} positions${input.daily ? ' (daily loss cap)' : ''}`;
  const lines = [
    head,
    `Loop ${input.loopId}; equity ${input.equity?.toFixed(2) ?? 'unknown'}; baseline ${input.baseline?.toFixed(2) ?? 'unknown'}`,
    'Trading is halted until a person resumes it.',
  ];
  if (report.listUnavailable) lines.push('The broker would not list positions; still trying to close them.');
  if (report.failed > 0) {
    lines.push(`${report.failed} position(s) failed to close, still trying:`);
    for (const f of report.failures.slice(0, 10)) lines.push(`- #${f.ticket} ${f.symbol}: ${f.reason}`);
  }
  return lines.join('\n');
}
