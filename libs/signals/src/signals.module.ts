import { Module } from '@nestjs/common';
import { DemoSignalSource } from './demo/demo-signal-source';
import { InboxFastPath } from './inbox/inbox-fast-path';
import { SignalInbox } from './inbox/signal-inbox';
import { SignalInboxController } from './inbox/signal-inbox.controller';
import { PlatformSignalSource } from './platform/platform-signal-source';

/** Signal sources (inbox, demo, platform) feeding the account's intake: claim, approve, queue. */
@Module({
  controllers: [SignalInboxController],
  providers: [SignalInbox, InboxFastPath, DemoSignalSource, PlatformSignalSource],
  exports: [PlatformSignalSource],
})
export class SignalsModule {}
