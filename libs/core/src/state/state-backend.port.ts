import type { AuditLog } from './audit-log.port';
import type { RiskStateStore } from './risk-state-store.port';
import type { SignalLedger } from './signal-ledger.port';
import type { StateLoadReport } from './state-load-report';

/** One account's durable state, as its runtime needs it. */
export interface AccountState {
  riskState: RiskStateStore;
  audit: AuditLog;
  /** What opening it found: problems, whether the ledger is trusted, the account's unfinished signals. */
  loaded: StateLoadReport;
}

/**
 * Where the process keeps its durable state (files under STATE_DIR today): the one signal
 * ledger of all its accounts, and each account's halt latch, baselines and audit log.
 * Opened and owned before anything trades.
 */
export interface StateBackend {
  readonly ledger: SignalLedger;
  openAccount(accountId: string): Promise<AccountState>;
}

export const STATE_BACKEND = Symbol('STATE_BACKEND');
