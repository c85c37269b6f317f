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
  | 'approval_request'
  | 'position_closed'
  | 'info';

/** A button under the message (Telegram inline keyboard); `data` comes back in the callback query. */
export interface AlertButton {
  text: string;
  data: string;
}

export interface Alert {
  kind: AlertKind;
  text: string;
  /** Only channels that can show buttons use them (manual approval); the log ignores them. */
  buttons?: AlertButton[];
}

/** An alert channel adapter (log, Telegram). `deliver` may be slow or fail; the dispatcher handles that. */
export interface AlertChannel {
  readonly name: string;
  deliver(alert: Alert): Promise<void>;
  /** Channels that queue internally: wait (bounded) until what is queued has been sent. */
  flush?(timeoutMs: number): Promise<void>;
  /** Stop background work (senders, timers) for good. */
  close?(): void;
}

export const ALERT_CHANNELS = Symbol('ALERT_CHANNELS');
