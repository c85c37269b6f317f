import { Global, Module } from '@nestjs/common';
import { ALERT_SINK, SCHEDULER, type Clock, type Scheduler } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { ALERT_CHANNELS, type AlertChannel } from './alert';
import { AlertDispatcher } from './alert-dispatcher';
import { AlertDrops } from './alert-drops';
import { LogAlertChannel } from './log/log-alert-channel';
import { DEFAULT_TELEGRAM_CHANNEL_OPTIONS, TelegramAlertChannel } from './telegram/telegram-alert-channel';
import { TelegrafMessageSender } from './telegram/telegram-message-sender';

/** The log channel always; Telegram when both TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are set. */
export function alertChannelsFromConfig(
  config: AppConfig,
  clock: Clock,
  drops: AlertDrops,
  scheduler: Scheduler,
): AlertChannel[] {
  const channels: AlertChannel[] = [new LogAlertChannel()];
  const { botToken, chatId, apiRoot } = config.telegram;
  if (botToken !== undefined && chatId !== undefined) {
    channels.push(
      new TelegramAlertChannel(
        { ...DEFAULT_TELEGRAM_CHANNEL_OPTIONS, chatId },
        new TelegrafMessageSender(botToken, apiRoot),
        clock,
        drops,
        scheduler,
      ),
    );
  }
  return channels;
}

@Global()
@Module({
  providers: [
    AlertDrops,
    {
      provide: ALERT_CHANNELS,
      inject: [APP_CONFIG, CLOCK, AlertDrops, SCHEDULER],
      useFactory: alertChannelsFromConfig,
    },
    AlertDispatcher,
    { provide: ALERT_SINK, useExisting: AlertDispatcher },
  ],
  exports: [AlertDispatcher, AlertDrops, ALERT_SINK],
})
export class AlertsModule {}
