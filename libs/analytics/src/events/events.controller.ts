import { BadRequestException, Controller, Get, Param, Query, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { AccountRegistry } from '@app/core';
import { accountById, AdminTokenGuard, onlyAccount } from '@app/common';
import { EventStreamHub } from './event-stream-hub';
import { parseLimit } from './parse-limit';
import { RecentEvents } from './recent-events';
import { ACCOUNT_RECENT_EVENTS_CAPACITY, RECENT_EVENTS_CAPACITY } from './recent-events-capacity';
import type { EventView } from './event-view';

/**
 * The recent events and the live stream: of the one account and the process (docs/service.md;
 * 409 with several accounts), and of each account (docs/accounts.md).
 */
@Controller('api/v1')
@UseGuards(AdminTokenGuard)
export class EventsController {
  constructor(
    private readonly recent: RecentEvents,
    private readonly hub: EventStreamHub,
    private readonly accounts: AccountRegistry,
  ) {}

  /** Most recent events, newest last. */
  @Get('events')
  list(@Query('limit') rawLimit: unknown): EventView[] {
    onlyAccount(this.accounts);
    return this.recent.last(limitOf(rawLimit, RECENT_EVENTS_CAPACITY));
  }

  /** The same events live, as Server-Sent Events (raw response, so back-pressure stays in our hands). */
  @Get('events/stream')
  stream(@Res() res: Response): void {
    onlyAccount(this.accounts);
    this.hub.attach(res);
  }

  @Get('accounts/:id/events')
  listOf(@Param('id') id: string, @Query('limit') rawLimit: unknown): EventView[] {
    const account = accountById(this.accounts, id);
    // With one account its events are the process's: the same answer as GET /api/v1/events.
    if (this.accounts.size === 1) return this.recent.last(limitOf(rawLimit, RECENT_EVENTS_CAPACITY));
    return this.recent.lastOf(account.id, limitOf(rawLimit, ACCOUNT_RECENT_EVENTS_CAPACITY));
  }

  @Get('accounts/:id/events/stream')
  streamOf(@Param('id') id: string, @Res() res: Response): void {
    const account = accountById(this.accounts, id);
    this.hub.attach(res, this.accounts.size === 1 ? undefined : account.id);
  }
}

function limitOf(raw: unknown, capacity: number): number {
  const limit = parseLimit(raw, capacity);
  if (limit === null)
    throw new BadRequestException({
      status: 'refused',
      reason: 'invalid_query',
      errors: [{ field: 'limit', message: `an integer from 1 to ${capacity}` }],
    });
  return limit;
}
