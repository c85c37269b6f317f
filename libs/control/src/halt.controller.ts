import {
  Body,
  ConflictException,
  Controller,
  HttpCode,
  Inject,
  Post,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import {
  AccountRegistry,
  SCALE_OUT,
  type AccountCommand,
  type AccountRuntime,
  type ScaleOut,
} from '@app/core';
import { askEveryOwner } from './accounts/remote-account-commands';
import { AdminTokenGuard, onlyAccount, parseBody } from '@app/common';
import { z } from 'zod';

const haltBody = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
  by: z.string().trim().min(1).max(100).optional(),
  scope: z.literal('all').optional(),
});
const resumeBody = z.strictObject({
  reviewed_by: z.string().trim().min(1).max(100),
  note: z.string().trim().max(1000).optional(),
  scope: z.literal('all').optional(),
});

type HaltBody = z.infer<typeof haltBody>;
type ResumeBody = z.infer<typeof resumeBody>;

/** One account's manual halt (the kill switch): the same sequence as a cap trigger. */
export async function haltAccount(runtime: AccountRuntime, body: HaltBody) {
  const result = await runtime.guard.manualHalt(body.reason ?? 'manual halt', body.by ?? 'admin api');
  return { state: 'halted', already_halted: result.alreadyHalted, halt: result.halt };
}

/** One account's reviewed resume; 409 when it is not halted, 503 when its equity cannot be read. */
export async function resumeAccount(runtime: AccountRuntime, body: ResumeBody) {
  const result = await runtime.guard.resume(body.reviewed_by, body.note ?? '');
  if (result.ok) return { state: 'running', baseline_equity: result.baselineEquity };
  if (result.code === 'not_halted')
    throw new ConflictException({ status: 'refused', reason: 'not_halted', message: result.message });
  throw new ServiceUnavailableException({ status: 'refused', reason: result.code, message: result.message });
}

/**
 * The manual kill switch and the reviewed resume (docs/service.md), and the platform kill switch
 * (docs/accounts.md): `scope: all` halts every account, each latched, closed and audited; a
 * `scope: all` resume lifts only the halts a `scope: all` halt latched, never a cap trigger. There
 * is no call that changes a cap.
 */
@Controller('api/v1')
@UseGuards(AdminTokenGuard)
export class HaltController {
  constructor(
    private readonly accounts: AccountRegistry,
    @Inject(SCALE_OUT) private readonly scaleOut: ScaleOut | null,
  ) {}

  /**
   * Shared accounts (docs/scale-out.md): the platform kill switch and its bulk resume reach every
   * account, whichever process owns it, as one command per account for its owner.
   */
  private async everyOwner(command: AccountCommand, scaleOut: ScaleOut) {
    // The database's accounts: those this process refused or has not read yet are halted too.
    const ids = (await scaleOut.owners()).map((row) => row.accountId);
    const { outcomes, pending } = await askEveryOwner(scaleOut, ids, command);
    if (command.kind === 'halt')
      return {
        scope: 'all',
        state: 'halted',
        accounts: ids.length,
        newly_halted: outcomes.filter((o) => o.already_halted === false).length,
        already_halted: outcomes.filter((o) => o.already_halted === true).map((o) => o.account_id),
        // Written for their owners, not yet confirmed: they halt as soon as an owner reads them.
        requested: pending,
      };
    return {
      scope: 'all',
      resumed: outcomes.filter((o) => o.resumed === true).map((o) => o.account_id),
      failed: outcomes.filter(
        (o) => o.resumed === false && o.reason !== 'not_bulk_halt' && o.reason !== 'not_halted',
      ),
      still_halted: outcomes.filter((o) => o.reason === 'not_bulk_halt').map((o) => o.account_id),
      requested: pending,
    };
  }

  @Post('halt')
  @HttpCode(200)
  async halt(@Body() raw: unknown) {
    const body = parseBody(haltBody, raw ?? {});
    if (body.scope !== 'all') return haltAccount(onlyAccount(this.accounts), body);
    const reason = body.reason ?? 'platform kill switch';
    const by = body.by ?? 'admin api';
    if (this.scaleOut !== null)
      return this.everyOwner({ kind: 'halt', reason, by, scope: 'all' }, this.scaleOut);
    const results = await Promise.all(
      this.accounts.all().map(async (runtime) => {
        const result = await runtime.guard.manualHalt(reason, by, 'all');
        return { account_id: runtime.id, already_halted: result.alreadyHalted, halt_id: result.halt.id };
      }),
    );
    return {
      scope: 'all',
      state: 'halted',
      accounts: results.length,
      newly_halted: results.filter((r) => !r.already_halted).length,
      already_halted: results.filter((r) => r.already_halted).map((r) => r.account_id),
    };
  }

  @Post('resume')
  @HttpCode(200)
  async resume(@Body() raw: unknown) {
    const body = parseBody(resumeBody, raw ?? {});
    if (body.scope !== 'all') return resumeAccount(onlyAccount(this.accounts), body);
    if (this.scaleOut !== null)
      return this.everyOwner(
        { kind: 'resume', reviewedBy: body.reviewed_by, note: body.note ?? '', scope: 'all' },
        this.scaleOut,
      );
    const bulk = this.accounts.all().filter((runtime) => runtime.guard.snapshot().halt?.scope === 'all');
    const results = await Promise.all(
      bulk.map(async (runtime) => {
        const result = await runtime.guard.resume(body.reviewed_by, body.note ?? '');
        return result.ok
          ? { account_id: runtime.id, resumed: true as const }
          : { account_id: runtime.id, resumed: false as const, reason: result.code, message: result.message };
      }),
    );
    const stillHalted = this.accounts
      .all()
      .filter((runtime) => runtime.isHalted())
      .map((runtime) => runtime.id);
    return {
      scope: 'all',
      resumed: results.filter((r) => r.resumed).map((r) => r.account_id),
      failed: results.filter((r) => !r.resumed),
      // Halted for their own reason (a cap trigger, a halt of their own): each needs its own review.
      still_halted: stillHalted,
    };
  }
}
