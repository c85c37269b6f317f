import { Logger } from '@nestjs/common';
import type { Alert, AlertChannel } from '../alert';

/** Every alert goes to the log, whatever else is configured. */
export class LogAlertChannel implements AlertChannel {
  readonly name = 'log';
  private readonly logger = new Logger('alerts');

  async deliver(alert: Alert): Promise<void> {
    this.logger.warn(
      {
        alert_kind: alert.kind,
        ...(alert.accountId === undefined ? {} : { account_id: alert.accountId }),
        alert: alert.text,
      },
      alert.text.split('\n')[0],
    );
  }
}
