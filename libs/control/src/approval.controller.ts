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
import { accountById, AdminTokenGuard, parseBody } from '@app/common';
import { z } from 'zod';
import { AccountRegistry, type AccountRuntime } from '@app/core';

const decisionBody = z.strictObject({
  by: z.string().trim().min(1).max(100).optional(),
  /** With several accounts: decide on this account only; without it, on every account where it waits. */
  account_id: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .optional(),
});

/** APPROVAL_MODE=manual (an account's `approval_mode`): a person approves or rejects each signal, per account. */
@Controller('api/v1/signals')
@UseGuards(AdminTokenGuard)
export class ApprovalController {
  constructor(private readonly accounts: AccountRegistry) {}

  @Get('pending')
  pending() {
    return {
      signals: this.accounts.all().flatMap((runtime) =>
        runtime.intake.pendingApprovals().map((p) => ({
          ...p.signal,
          account_id: runtime.id,
          pending_since: new Date(p.since).toISOString(),
        })),
      ),
    };
  }

  @Post(':id/approve')
  @HttpCode(200)
  async approve(@Param('id') id: string, @Body() raw: unknown) {
    const body = parseBody(decisionBody, raw ?? {});
    const outcomes = await Promise.all(
      this.waitingOn(id, body.account_id).map((runtime) =>
        runtime.intake.approvePending(id, body.by ?? 'admin api'),
      ),
    );
    if (outcomes.length === 0 || outcomes.every((o) => o === 'not_pending'))
      throw new NotFoundException({ status: 'refused', reason: 'not_pending' });
    if (outcomes.every((o) => o === 'halted' || o === 'not_pending'))
      throw new HttpException({ id, status: 'rejected', reason: 'halted' }, HttpStatus.LOCKED);
    return { id, status: 'approved', accounts: outcomes.filter((o) => o === 'approved').length };
  }

  @Post(':id/reject')
  @HttpCode(200)
  async reject(@Param('id') id: string, @Body() raw: unknown) {
    const body = parseBody(decisionBody, raw ?? {});
    const outcomes = await Promise.all(
      this.waitingOn(id, body.account_id).map((runtime) =>
        runtime.intake.rejectPending(id, body.by ?? 'admin api'),
      ),
    );
    if (outcomes.every((o) => o === 'not_pending'))
      throw new NotFoundException({ status: 'refused', reason: 'not_pending' });
    return { id, status: 'rejected', accounts: outcomes.filter((o) => o === 'rejected').length };
  }

  /** The accounts where the signal waits for a person: the one named, or all of them. */
  private waitingOn(id: string, accountId: string | undefined): AccountRuntime[] {
    if (accountId !== undefined) return [accountById(this.accounts, accountId)];
    return this.accounts
      .all()
      .filter((runtime) => runtime.intake.pendingApprovals().some((p) => p.signal.id === id));
  }
}
