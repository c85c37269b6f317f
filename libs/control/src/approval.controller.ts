import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpException,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import { AdminTokenGuard, parseBody } from '@app/common';
import { z } from 'zod';
import { SignalIntake } from '@app/core';

const decisionBody = z.strictObject({ by: z.string().trim().min(1).max(100).optional() });

/** APPROVAL_MODE=manual: a person approves or rejects each signal. */
@Controller('api/v1/signals')
@UseGuards(AdminTokenGuard)
export class ApprovalController {
  constructor(private readonly pipeline: SignalIntake) {}

  @Get('pending')
  pending() {
    return {
      signals: this.pipeline
        .pendingApprovals()
        .map((p) => ({ ...p.signal, pending_since: new Date(p.since).toISOString() })),
    };
  }

  @Post(':id/approve')
  @HttpCode(200)
  async approve(@Param('id') id: string, @Body() raw: unknown) {
    const body = parseBody(decisionBody, raw ?? {});
    const outcome = await this.pipeline.approvePending(id, body.by ?? 'admin api');
    if (outcome === 'not_pending') throw new NotFoundException({ status: 'refused', reason: 'not_pending' });
    if (outcome === 'halted')
      throw new HttpException({ id, status: 'rejected', reason: 'halted' }, HttpStatus.LOCKED);
    return { id, status: 'approved' };
  }

  @Post(':id/reject')
  @HttpCode(200)
  async reject(@Param('id') id: string, @Body() raw: unknown) {
    const body = parseBody(decisionBody, raw ?? {});
    if ((await this.pipeline.rejectPending(id, body.by ?? 'admin api')) === 'not_pending')
      throw new NotFoundException({ status: 'refused', reason: 'not_pending' });
    return { id, status: 'rejected' };
  }
}
