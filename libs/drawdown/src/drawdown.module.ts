import { Module } from '@nestjs/common';
import { Mt5Module } from '@app/mt5';
import { DrawdownGuard } from './drawdown-guard';
import { HALT_STATUS } from './halt-status.port';
import { HaltController } from './halt.controller';

@Module({
  imports: [Mt5Module],
  controllers: [HaltController],
  providers: [DrawdownGuard, { provide: HALT_STATUS, useExisting: DrawdownGuard }],
  exports: [DrawdownGuard, HALT_STATUS],
})
export class DrawdownModule {}
