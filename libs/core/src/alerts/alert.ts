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
  /** The account it is about (docs/accounts.md: it also goes to that account's chat); absent for the process's own alerts. */
  accountId?: string;
  /** Only channels that can show buttons use them (manual approval); the log ignores them. */
  buttons?: AlertButton[];
}

/**
 * Where the core raises alerts. Sending never blocks or fails the caller: the delivery side
 * (libs/alerts) queues, retries and drops with a count, never into trading.
 */
export interface AlertSink {
  send(alert: Alert): void;
}

export const ALERT_SINK = Symbol('ALERT_SINK');

/**
 * The sink one account's runtime raises alerts on: each carries the account's id and, when the
 * process trades several accounts, names it on a last line so a person sees whose it is.
 */
export function accountAlerts(sink: AlertSink, accountId: string, nameIt: boolean): AlertSink {
  return {
    send: (alert) =>
      sink.send({ ...alert, accountId, ...(nameIt ? { text: `${alert.text}\nAccount ${accountId}` } : {}) }),
  };
}
