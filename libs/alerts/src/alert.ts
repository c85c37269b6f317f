/** An operator alert. `text` is the message; its first line is the headline tests and people read. */
export type AlertKind =
  | 'drawdown_cap'
  | 'drawdown_warning'
  | 'halt'
  | 'resume'
  | 'close_failures'
  | 'equity_unavailable'
  | 'heartbeat_stale'
  | 'heartbeat_recovered'
  | 'state_untrusted'
  | 'shutdown'
  | 'info';

export interface Alert {
  kind: AlertKind;
  text: string;
}

/** An alert channel adapter (log, Telegram). `deliver` may be slow or fail; the dispatcher handles that. */
export interface AlertChannel {
  readonly name: string;
  deliver(alert: Alert): Promise<void>;
}

export const ALERT_CHANNELS = Symbol('ALERT_CHANNELS');
