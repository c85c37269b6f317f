import type { Alert } from '@app/core';

// The alert itself is the core's (trading raises it, AlertSink); this library delivers it.
export type { Alert, AlertButton, AlertKind, AlertSink } from '@app/core';

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
