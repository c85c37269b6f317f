import { Module } from '@nestjs/common';
import { DrawdownModule } from '@app/drawdown';
import { ApprovalController } from './approval/approval.controller';
import { SignalPipeline } from './approval/signal-pipeline';
import { DemoSignalSource } from './demo/demo-signal-source';
import { InboxFastPath } from './inbox/inbox-fast-path';
import { SignalInbox } from './inbox/signal-inbox';
import { SignalInboxController } from './inbox/signal-inbox.controller';
import { PlatformSignalSource } from './platform/platform-signal-source';

/** Signal sources (inbox, demo, platform) feeding one pipeline: claim, approve, queue. */
@Module({
  imports: [DrawdownModule],
  controllers: [SignalInboxController, ApprovalController],
  providers: [SignalPipeline, SignalInbox, InboxFastPath, DemoSignalSource, PlatformSignalSource],
  exports: [SignalPipeline, PlatformSignalSource],
})
export class SignalsModule {}
