import { Module } from '@nestjs/common';
import { AccountsController } from './accounts/accounts.controller';
import { ApprovalController } from './approval.controller';
import { DebugFaultsController, DebugFaultsEnabled } from './debug-faults.controller';
import { HaltController } from './halt.controller';
import { StatusController } from './status.controller';
import { TelegramCommandsService } from './telegram/telegram-commands.service';

/**
 * The inbound control surfaces: the admin API (status, positions, halt, resume, the accounts API,
 * manual approvals, debug faults) and Telegram (bot commands and approval buttons). They act on
 * the accounts' runtimes; they hold no trading logic of their own.
 */
@Module({
  controllers: [
    StatusController,
    HaltController,
    AccountsController,
    ApprovalController,
    DebugFaultsController,
  ],
  providers: [TelegramCommandsService, DebugFaultsEnabled],
})
export class ControlModule {}
