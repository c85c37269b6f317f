import { BadRequestException, Controller, Get, Query, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { AdminTokenGuard } from '@app/common';
import { EventStreamHub } from './event-stream-hub';
import { parseLimit } from './parse-limit';
import { RecentEvents } from './recent-events';
import { RECENT_EVENTS_CAPACITY } from './recent-events-capacity';
import type { EventView } from './event-view';

@Controller('api/v1/events')
@UseGuards(AdminTokenGuard)
export class EventsController {
  constructor(
    private readonly recent: RecentEvents,
    private readonly hub: EventStreamHub,
  ) {}

  /** Most recent events, newest last. */
  @Get()
  list(@Query('limit') rawLimit: unknown): EventView[] {
    const limit = parseLimit(rawLimit);
    if (limit === null) {
      throw new BadRequestException({
        status: 'refused',
        reason: 'invalid_query',
        errors: [{ field: 'limit', message: `an integer from 1 to ${RECENT_EVENTS_CAPACITY}` }],
      });
    }
    return this.recent.last(limit);
  }

  /** The same events live, as Server-Sent Events (raw response, so back-pressure stays in our hands). */
  @Get('stream')
  stream(@Res() res: Response): void {
    this.hub.attach(res);
  }
}
