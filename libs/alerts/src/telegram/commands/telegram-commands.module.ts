import { Module } from '@nestjs/common';
import { DrawdownModule } from '@app/drawdown';
import { Mt5Module } from '@app/mt5';
import { SignalsModule } from '@app/signals';
import { TelegramCommandsService } from './telegram-commands.service';

/**
 * Telegram bot commands and approval buttons. Kept out of AlertsModule: it needs the drawdown
 * guard and the signal pipeline, and DrawdownModule itself imports alerts (a cycle otherwise).
 * The app module imports it; it does nothing unless Telegram is configured.
 */
@Module({
  imports: [DrawdownModule, SignalsModule, Mt5Module],
  providers: [TelegramCommandsService],
})
export class TelegramCommandsModule {}
