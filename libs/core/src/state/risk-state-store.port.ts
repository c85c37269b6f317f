import type { RiskState } from '../risk/risk-state';

/** What loading the risk state found: nothing yet, a value to check with parseRiskState, or damage. */
export type RiskStateLoad =
  { kind: 'absent' } | { kind: 'loaded'; value: unknown } | { kind: 'damaged'; problem: string };

/**
 * The halt latch and the baselines of one account (docs/risk.md): one record, written whole.
 * `save` resolves once the state is durable (the latch depends on it) and rejects when it is not.
 */
export interface RiskStateStore {
  load(): Promise<RiskStateLoad>;
  save(state: RiskState): Promise<void>;
}
