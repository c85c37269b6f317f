import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Delete,
  NotFoundException,
  Put,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { z } from 'zod';
import {
  AccountRegistry,
  SCALE_OUT,
  type AccountRuntime,
  type AccountStatus,
  type Clock,
  type ScaleOut,
} from '@app/core';
import { APP_CONFIG, CLOCK, accountOfRow, type AppConfig } from '@app/config';
import { accountById, AdminTokenGuard, Lifecycle, parseBody } from '@app/common';
import { haltAccount, resumeAccount } from '../halt.controller';
import { accountPositions, accountStatus } from './account-view';
import { askOwner } from './remote-account-commands';

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

const listQuery = z.strictObject({
  state: z.enum(['running', 'halted', 'stale']).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a cursor from the previous page')
    .optional(),
});
const haltBody = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
  by: z.string().trim().min(1).max(100).optional(),
});
const resumeBody = z.strictObject({
  reviewed_by: z.string().trim().min(1).max(100),
  note: z.string().trim().max(1000).optional(),
});

/**
 * The accounts API (docs/accounts.md): the list with each account's state and drawdown, and per
 * account what the single-account routes of docs/service.md do for the one account (status,
 * positions, halt, resume). Analytics and events per account are served by their own lib.
 */
@Controller('api/v1/accounts')
@UseGuards(AdminTokenGuard)
export class AccountsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly accounts: AccountRegistry,
    private readonly lifecycle: Lifecycle,
    @Inject(SCALE_OUT) private readonly scaleOut: ScaleOut | null,
  ) {
    this.gateways = new Map(config.accounts.map((account) => [account.id, account.gateway]));
  }

  /**
   * Adds or changes one account (docs/scale-out.md): the body is one entry of the accounts file,
   * checked by its rules (secrets by name only); every process trades by it within seconds.
   * With files, accounts come from ACCOUNTS_FILE at start: 409.
   */
  @Put(':id')
  async put(@Param('id') id: string, @Body() raw: unknown) {
    const scaleOut = this.sharedOnly();
    const entry = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? { id, ...raw } : raw;
    if (entry === raw || (entry as { id: unknown }).id !== id)
      throw new BadRequestException({
        status: 'refused',
        reason: 'invalid_body',
        errors: [
          { field: 'body', message: 'one account entry (a JSON object) whose id, if given, is the path id' },
        ],
      });
    const row = { id, entry: entry as Record<string, unknown> };
    const parsed = accountOfRow(row, this.config, process.env);
    if (!parsed.ok)
      throw new BadRequestException({
        status: 'refused',
        reason: 'invalid_account',
        errors: parsed.problems.map((p) => ({ field: p.key ?? p.variable, message: p.expected })),
      });
    const written = await scaleOut.putAccount(id, row.entry);
    return { account_id: id, status: written };
  }

  /**
   * Removes a flat account: its owner checks that it holds no position (409 `open_positions`
   * otherwise), then removes it; every process stops trading it within seconds.
   */
  @Delete(':id')
  async remove(@Param('id') id: string) {
    const scaleOut = this.sharedOnly();
    const row = (await scaleOut.owners()).find((r) => r.accountId === id);
    if (row === undefined)
      throw new NotFoundException({ status: 'refused', reason: 'unknown_account', account_id: id });
    if (row.owner === null)
      throw new ConflictException({
        status: 'refused',
        reason: 'no_owner',
        message: 'no process owns this account right now (a takeover under way): try again in a few seconds',
      });
    const outcome = await askOwner(scaleOut, id, { kind: 'delete', by: 'admin api' });
    if (outcome.deleted === true) return { account_id: id, status: 'deleted' };
    if (outcome.state === 'delete_requested') return outcome;
    throw new ConflictException({ status: 'refused', ...outcome });
  }

  private sharedOnly(): ScaleOut {
    if (this.scaleOut === null)
      throw new ConflictException({
        status: 'refused',
        reason: 'accounts_from_file',
        message: 'with STATE_BACKEND=files the accounts come from ACCOUNTS_FILE: change it and restart',
      });
    return this.scaleOut;
  }

  /** With shared accounts, one owned by another process (docs/scale-out.md); undefined when owned here or unknown. */
  private elsewhere(id: string): ScaleOut | undefined {
    return this.scaleOut !== null && this.accounts.account(id) === undefined ? this.scaleOut : undefined;
  }

  /** Reads need the account's own runtime: 409 naming its owner when another process has it. */
  private async local(id: string): Promise<AccountRuntime> {
    const scaleOut = this.elsewhere(id);
    if (scaleOut !== undefined) {
      const owner = (await scaleOut.owners()).find((row) => row.accountId === id);
      if (owner === undefined)
        throw new NotFoundException({ status: 'refused', reason: 'unknown_account', account_id: id });
      throw new ConflictException({
        status: 'refused',
        reason: 'owned_elsewhere',
        account_id: id,
        owner: owner?.owner ?? null,
        message: 'another process owns this account: ask it, or halt and resume it from here',
      });
    }
    return accountById(this.accounts, id);
  }

  private readonly gateways: ReadonlyMap<string, string>;

  /** In configuration order; `cursor` is the last id of the previous page. */
  @Get()
  list(@Query() raw: Record<string, unknown>) {
    const parsed = listQuery.safeParse(raw);
    if (!parsed.success)
      throw new BadRequestException({
        status: 'refused',
        reason: 'invalid_query',
        errors: parsed.error.issues.map((issue) => ({
          field: issue.path.join('.') || 'query',
          message: issue.message,
        })),
      });
    const { state, limit = DEFAULT_PAGE, cursor } = parsed.data;
    const now = this.clock.now();
    const all = this.accounts.all();
    let start = 0;
    if (cursor !== undefined) {
      const at = all.findIndex((runtime) => runtime.id === cursor);
      if (at < 0)
        throw new BadRequestException({
          status: 'refused',
          reason: 'invalid_query',
          errors: [{ field: 'cursor', message: 'not an account id' }],
        });
      start = at + 1;
    }
    const page: object[] = [];
    let last: string | undefined;
    let more = false;
    for (let i = start; i < all.length; i++) {
      const runtime = all[i];
      const status: AccountStatus = this.accounts.stateOf(runtime, now);
      if (state !== undefined && status !== state) continue;
      if (page.length === limit) {
        more = true;
        break;
      }
      page.push(this.row(runtime, status));
      last = runtime.id;
    }
    return { accounts: page, next_cursor: more ? (last ?? null) : null };
  }

  @Get(':id/status')
  async status(@Param('id') id: string) {
    const runtime = await this.local(id);
    // An account's heartbeat is its last completed pass (docs/accounts.md), as in the list.
    return {
      account_id: runtime.id,
      ...accountStatus(runtime, this.config.loopId, this.lifecycle.stopping, runtime.progress.lastPassAt),
      account_state: this.accounts.stateOf(runtime, this.clock.now()),
    };
  }

  @Get(':id/positions')
  async positions(@Param('id') id: string) {
    return accountPositions(await this.local(id));
  }

  @Post(':id/halt')
  @HttpCode(200)
  async halt(@Param('id') id: string, @Body() raw: unknown) {
    const body = parseBody(haltBody, raw ?? {});
    const scaleOut = this.elsewhere(id);
    if (scaleOut !== undefined)
      return askOwner(scaleOut, id, {
        kind: 'halt',
        reason: body.reason ?? 'manual halt',
        by: body.by ?? 'admin api',
      });
    const runtime = accountById(this.accounts, id);
    return { account_id: runtime.id, ...(await haltAccount(runtime, body)) };
  }

  @Post(':id/resume')
  @HttpCode(200)
  async resume(@Param('id') id: string, @Body() raw: unknown) {
    const body = parseBody(resumeBody, raw ?? {});
    const scaleOut = this.elsewhere(id);
    if (scaleOut !== undefined)
      return askOwner(scaleOut, id, {
        kind: 'resume',
        reviewedBy: body.reviewed_by,
        note: body.note ?? '',
      });
    const runtime = accountById(this.accounts, id);
    return { account_id: runtime.id, ...(await resumeAccount(runtime, body)) };
  }

  private row(runtime: AccountRuntime, state: AccountStatus) {
    const id = runtime.id;
    const risk = runtime.guard.snapshot();
    const lastPass = runtime.progress.lastPassAt;
    return {
      id,
      state,
      gateway: this.gateways.get(id) ?? 'unknown',
      equity: risk.equity,
      drawdown_percent: risk.drawdownPercent,
      cap_percent: risk.capPercent,
      open_positions: risk.openPositions,
      last_heartbeat_at: lastPass === null ? null : new Date(lastPass).toISOString(),
    };
  }
}
