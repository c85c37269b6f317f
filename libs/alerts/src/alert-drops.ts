import { Injectable, Logger } from '@nestjs/common';
import type { Alert } from './alert';

/** `shutdown`: still queued when the process stopped (the flush budget ran out). */
export type AlertDropReason = 'queue_overflow' | 'refused' | 'shutdown';

export interface AlertDrop {
  channel: string;
  reason: AlertDropReason;
  alert: Alert;
}

/**
 * The one place an alert that will never reach its channel is reported: logged at error (with
 * the text, so nothing is lost from the log) and handed to listeners (the Prometheus counter in
 * analytics, which alerts must not import).
 */
@Injectable()
export class AlertDrops {
  private readonly logger = new Logger('alerts');
  private readonly listeners = new Set<(drop: AlertDrop) => void>();

  record(drop: AlertDrop): void {
    this.logger.error(
      { channel: drop.channel, reason: drop.reason, alert_kind: drop.alert.kind, alert: drop.alert.text },
      `alert dropped by ${drop.channel}: ${drop.reason}`,
    );
    for (const listener of this.listeners) {
      try {
        listener(drop);
      } catch (error) {
        this.logger.error({ err: error }, 'alert drop listener failed');
      }
    }
  }

  subscribe(listener: (drop: AlertDrop) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
