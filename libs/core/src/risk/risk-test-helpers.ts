import { DrawdownPolicy, type DrawdownPolicyOptions } from './drawdown-policy';
import { emptyRiskState, type RiskState } from './risk-state';

/** Shared by the risk specs: a fixed instant (2026-11-24 10:00 UTC) and default options. */
export const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
export const SECOND = 1000;
export const HOUR = 3600 * SECOND;

export const DEFAULT_OPTIONS: DrawdownPolicyOptions = {
  capPercent: 20,
  baselineMode: 'start',
  dailyResetTimezone: 'UTC',
  warnRatio: 0.8,
  confirmReads: 1,
};

export function policyWith(
  overrides: Partial<DrawdownPolicyOptions> = {},
  state: RiskState = emptyRiskState(),
): DrawdownPolicy {
  return new DrawdownPolicy({ ...DEFAULT_OPTIONS, ...overrides }, state);
}

/** Observe and insist the read was valid (tests that only feed finite equity). */
export function observeOk(policy: DrawdownPolicy, equity: number, now: number) {
  const o = policy.observe(equity, now);
  if (o.kind !== 'ok') throw new Error(`expected a valid read for ${equity}`);
  return o;
}

/** JSON round trip, as the state file does. */
export function roundTrip(state: RiskState): RiskState {
  return JSON.parse(JSON.stringify(state)) as RiskState;
}
