import { Global, Module } from '@nestjs/common';
import { ALERT_CHANNELS, type AlertChannel } from './alert';
import { AlertDispatcher } from './alert-dispatcher';
import { LogAlertChannel } from './log/log-alert-channel';

@Global()
@Module({
  providers: [
    { provide: ALERT_CHANNELS, useFactory: (): AlertChannel[] => [new LogAlertChannel()] },
    AlertDispatcher,
  ],
  exports: [AlertDispatcher],
})
export class AlertsModule {}
