/**
 * Drawdown of `equity` against a reference equity (the baseline, or the daily anchor), in percent,
 * clamped to [0, 100]. Equity at or below zero is 100% (a wiped account), whatever the reference.
 *
 * A reference <= 0 or a non-finite input is a broken invariant, not a market event: the policy
 * filters non-finite reads out as errors and never stores a reference <= 0, so this throws a
 * RangeError instead of inventing a number.
 */
export function drawdownPercent(baseline: number, equity: number): number {
  if (!Number.isFinite(baseline) || !Number.isFinite(equity)) {
    throw new RangeError(
      `drawdownPercent needs finite numbers, got baseline=${String(baseline)} equity=${String(equity)}`,
    );
  }
  if (baseline <= 0) throw new RangeError(`drawdownPercent needs a baseline > 0, got ${baseline}`);
  if (equity <= 0) return 100;
  // Multiply before dividing so round figures stay exact (10,000 -> 8,000 is 20, not 20.000000000000004);
  // fall back to divide-first only where the product would overflow.
  const loss = baseline - equity;
  const scaled = loss * 100;
  const percent = Number.isFinite(scaled) ? scaled / baseline : (loss / baseline) * 100;
  return Math.min(100, Math.max(0, percent));
}
