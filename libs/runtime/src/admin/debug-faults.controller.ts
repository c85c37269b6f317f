import { Body, Controller, HttpCode, Inject, NotFoundException, Post, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { AdminTokenGuard, parseBody } from '@app/common';
import { TradingLoop } from '../loop/trading-loop';

const faultBody = z.strictObject({ ms: z.number().int().min(1).max(120_000) });

/**
 * Fault injectors for watchdog tests, only with DEBUG_FAULTS=true (404 otherwise, as if absent).
 * Never enable in production: block-event-loop freezes the whole process on purpose.
 */
@Controller('api/v1/debug')
@UseGuards(AdminTokenGuard)
export class DebugFaultsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly loop: TradingLoop,
  ) {}

  @Post('block-event-loop')
  @HttpCode(200)
  blockEventLoop(@Body() raw: unknown) {
    const { ms } = this.enabled(raw);
    // Answer first, then freeze: the caller sees the 200 and the process stops responding.
    setImmediate(() => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // busy-wait on purpose: a frozen main thread
      }
    });
    return { blocked_ms: ms };
  }

  @Post('stall-loop')
  @HttpCode(200)
  stallLoop(@Body() raw: unknown) {
    const { ms } = this.enabled(raw);
    this.loop.stallNextTick(ms);
    return { stalled_ms: ms };
  }

  private enabled(raw: unknown): { ms: number } {
    if (!this.config.debugFaults) throw new NotFoundException();
    return parseBody(faultBody, raw ?? {});
  }
}
