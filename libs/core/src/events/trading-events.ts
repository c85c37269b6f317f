/**
 * Every domain event, by the `type` that names it in the log (docs/service.md, Logs).
 * One map so publishers, listeners, the event stream and webhooks agree on the shapes.
 */
export interface HeartbeatMetrics {
  signals: number;
  trades: number;
  errors: number;
  open_positions: number;
  equity: number | null;
  drawdown_percent: number | null;
  loop_duration_ms: number;
}

export interface TradingEventMap {
  /** `accounts`: the process's accounts by state (docs/accounts.md, Heartbeat). */
  heartbeat: {
    loop_id: string;
    metrics: HeartbeatMetrics;
    accounts: { total: number; running: number; halted: number; stale: number };
  };
  signal_received: {
    signal_id: string;
    instrument: string;
    side: string;
    volume: number;
    source: string;
    created_at: string;
  };
  signal_approved: { signal_id: string; approval_time_ms: number; approved_by: string };
  signal_rejected: { signal_id: string; reason: string };
  trade_executed: {
    signal_id: string;
    ticket: number;
    instrument: string;
    side: string;
    volume: number;
    fill_price: number;
    request_id: string;
    latency_ms: number;
    execution_time_ms: number;
    attempts: number;
  };
  trade_failed: {
    signal_id: string;
    request_id?: string;
    retcode?: number;
    error?: string;
    reason: string;
    attempts: number;
  };
  positions_closed: { signal_id: string; instrument: string; closed: number; failed: number };
  /**
   * A position the service opened is gone and the service did not close it: its stop loss, its
   * take profit, a margin stop-out, or anything else (`external`: a person, another program).
   * `price` and `profit` are the closing deal's; `detail` says why the reason is a guess.
   */
  position_closed: {
    ticket: number;
    symbol: string;
    side: string;
    volume: number;
    price: number;
    profit: number | null;
    reason: 'sl' | 'tp' | 'stop_out' | 'external';
    detail?: string;
  };
  drawdown_warning: { drawdown_percent: number; cap_percent: number; cap: 'total' | 'daily' };
  /**
   * Step 3 of every halt (docs/risk.md): `cap` says what tripped it, a cap (`total`, `daily`) or
   * not (`manual`, `untrusted_state`); only the first two count as cap triggers in analytics.
   */
  drawdown_cap_triggered: {
    halt_id: string;
    reason: string;
    cap: 'total' | 'daily' | 'manual' | 'untrusted_state';
    drawdown_percent: number;
    cap_percent: number;
    equity: number | null;
    baseline_equity: number | null;
    positions_closed: number;
    positions_failed: number;
    message: string;
  };
  drawdown_reduction: { drawdown_percent: number; trough_percent: number; drawdown_change_percent: number };
  drawdown_recovered: { recovery_time_ms: number; trough_percent: number };
  equity_read_failed: { consecutive_failures: number; error: string };
  equity_sample: { equity: number; baseline_equity: number | null; drawdown_percent: number };
  halted: { halt_id: string; reason: string; source: string; drawdown_percent: number | null };
  resumed: { halt_id: string; reviewed_by: string; note: string; baseline_equity: number | null };
  heartbeat_stale: { loop_id: string; seconds_since_heartbeat: number };
  heartbeat_recovered: { loop_id: string; stale_for_seconds: number };
  shutdown: { loop_id: string; signal: string; positions_closed: number; positions_failed: number };
}

export type TradingEventType = keyof TradingEventMap;

/** Whether a halt was a cap trigger (the total or the daily cap), not a halt by hand or on bad state. */
export const isCapTrigger = (cap: TradingEventMap['drawdown_cap_triggered']['cap']): boolean =>
  cap === 'total' || cap === 'daily';

/**
 * An event as it travels: its type, when it happened, the account it is about (absent for the
 * process's own events: heartbeat, shutdown), and its payload.
 */
export type TradingEvent<K extends TradingEventType = TradingEventType> = {
  [T in K]: { type: T; at: number; account_id?: string; payload: TradingEventMap[T] };
}[K];
