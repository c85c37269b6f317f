import { Global, Module } from '@nestjs/common';
import { ALERT_SINK, SCHEDULER, type Clock, type Scheduler } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { ALERT_CHANNELS, type AlertChannel } from './alert';
import { AlertDispatcher } from './alert-dispatcher';
import { AlertDrops } from './alert-drops';
import { LogAlertChannel } from './log/log-alert-channel';
import { AccountChatsChannel } from './telegram/account-chats-channel';
import { DEFAULT_TELEGRAM_CHANNEL_OPTIONS, TelegramAlertChannel } from './telegram/telegram-alert-channel';
import { TelegrafMessageSender } from './telegram/telegram-message-sender';

/**
 * The log channel always; with TELEGRAM_BOT_TOKEN, the operator chat (TELEGRAM_CHAT_ID) for every
 * alert and each account's own chat (`telegram_chat_id`) for the alerts about it (docs/accounts.md).
 */
export function alertChannelsFromConfig(
  config: AppConfig,
  clock: Clock,
  drops: AlertDrops,
  scheduler: Scheduler,
): AlertChannel[] {
  const channels: AlertChannel[] = [new LogAlertChannel()];
  const { botToken, chatId, apiRoot } = config.telegram;
  if (botToken === undefined) return channels;
  const sender = new TelegrafMessageSender(botToken, apiRoot);
  const telegram = (chat: string) =>
    new TelegramAlertChannel(
      { ...DEFAULT_TELEGRAM_CHANNEL_OPTIONS, chatId: chat },
      sender,
      clock,
      drops,
      scheduler,
    );
  if (chatId !== undefined) channels.push(telegram(chatId));
  const chatOf = new Map<string, string>();
  for (const account of config.accounts)
    if (account.telegram.chatId !== undefined) chatOf.set(account.id, account.telegram.chatId);
  if (chatOf.size > 0) channels.push(new AccountChatsChannel(chatOf, chatId, telegram));
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
