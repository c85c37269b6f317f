import { Module } from '@nestjs/common';
import { ApprovalController } from './approval.controller';
import { DebugFaultsController, DebugFaultsEnabled } from './debug-faults.controller';
import { HaltController } from './halt.controller';
import { StatusController } from './status.controller';
import { TelegramCommandsService } from './telegram/telegram-commands.service';

/**
 * The inbound control surfaces: the admin API (status, positions, halt, resume, manual
 * approvals, debug faults) and Telegram (bot commands and approval buttons). They act on the
 * account's runtime; they hold no trading logic of their own.
 */
@Module({
  controllers: [StatusController, HaltController, ApprovalController, DebugFaultsController],
  providers: [TelegramCommandsService, DebugFaultsEnabled],
})
export class ControlModule {}
