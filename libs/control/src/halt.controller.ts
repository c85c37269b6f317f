import {
  Body,
  ConflictException,
  Controller,
  HttpCode,
  Post,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import { DrawdownGuard } from '@app/core';
import { AdminTokenGuard, parseBody } from '@app/common';
import { z } from 'zod';

const haltBody = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
  by: z.string().trim().min(1).max(100).optional(),
});
const resumeBody = z.strictObject({
  reviewed_by: z.string().trim().min(1).max(100),
  note: z.string().trim().max(1000).optional(),
});

/** The manual kill switch and the reviewed resume. There is no call that changes the cap. */
@Controller('api/v1')
@UseGuards(AdminTokenGuard)
export class HaltController {
  constructor(private readonly guard: DrawdownGuard) {}

  @Post('halt')
  @HttpCode(200)
  async halt(@Body() raw: unknown) {
    const body = parseBody(haltBody, raw ?? {});
    const result = await this.guard.manualHalt(body.reason ?? 'manual halt', body.by ?? 'admin api');
    return { state: 'halted', already_halted: result.alreadyHalted, halt: result.halt };
  }

  @Post('resume')
  @HttpCode(200)
  async resume(@Body() raw: unknown) {
    const body = parseBody(resumeBody, raw ?? {});
    const result = await this.guard.resume(body.reviewed_by, body.note ?? '');
    if (result.ok) return { state: 'running', baseline_equity: result.baselineEquity };
    if (result.code === 'not_halted')
      throw new ConflictException({ status: 'refused', reason: 'not_halted', message: result.message });
    throw new ServiceUnavailableException({
      status: 'refused',
      reason: result.code,
      message: result.message,
    });
  }
}
