/** A trading signal after validation: what the loop executes. */
export type SignalSide = 'buy' | 'sell' | 'close';

export interface TradeSignal {
  id: string;
  instrument: string;
  side: SignalSide;
  /** Lots; 0 for `close`. */
  volume: number;
  sl?: number;
  tp?: number;
  /** Epoch ms when the signal was generated: start of the latency clock. */
  createdAtMs: number;
  /** Epoch ms when this service received it. */
  receivedAtMs: number;
  /** Which source delivered it (`inbox`, `demo`, `platform`). */
  source: string;
  /** Epoch ms of approval, when the source approved it upstream (platform). */
  approvedAtMs?: number;
  /** Set when an earlier run accepted it but never recorded how it ended (taken up after a restart). */
  restoredAtMs?: number;
  /**
   * Set when the account queues it for its loop: how many halts the account had latched then
   * (one fewer if it was halted then). A halt latched since means it came in before that halt.
   */
  queuedAfterHalts?: number;
  /** The channel whose subscribed accounts trade it (docs/accounts.md); `default` when neither this nor `accounts` is set. */
  channel?: string;
  /** Exactly these accounts trade it (an approvals platform where each user approved it for their own account). */
  accounts?: string[];
}

/** Most account ids one signal may name. */
export const MAX_SIGNAL_ACCOUNTS = 10_000;
