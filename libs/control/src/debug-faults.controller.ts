import {
  Body,
  type CanActivate,
  Controller,
  HttpCode,
  Inject,
  Injectable,
  NotFoundException,
  Post,
  UseGuards,
} from '@nestjs/common';
import { z } from 'zod';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { AdminTokenGuard, parseBody } from '@app/common';
import { AccountRegistry, SCHEDULER, type Scheduler } from '@app/core';

const faultBody = z.strictObject({ ms: z.number().int().min(1).max(120_000) });

/** Before the token check: without DEBUG_FAULTS the routes answer 404 to anyone, as if absent. */
@Injectable()
export class DebugFaultsEnabled implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(): boolean {
    if (!this.config.debugFaults) throw new NotFoundException();
    return true;
  }
}

/**
 * Fault injectors for watchdog tests, only with DEBUG_FAULTS=true (404 otherwise, as if absent).
 * Never enable in production: block-event-loop freezes the whole process on purpose.
 */
@Controller('api/v1/debug')
@UseGuards(DebugFaultsEnabled, AdminTokenGuard)
export class DebugFaultsController {
  constructor(
    private readonly accounts: AccountRegistry,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
  ) {}

  @Post('block-event-loop')
  @HttpCode(200)
  blockEventLoop(@Body() raw: unknown) {
    const { ms } = parseBody(faultBody, raw ?? {});
    // Answer first, then freeze: the caller sees the 200 and the process stops responding.
    this.scheduler.after(0, () => {
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
    const { ms } = parseBody(faultBody, raw ?? {});
    // Every account's next tick: with one account, the loop the heartbeat proves.
    for (const runtime of this.accounts.all()) runtime.loop.stallNextTick(ms);
    return { stalled_ms: ms };
  }
}
