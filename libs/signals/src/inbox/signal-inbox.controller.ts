import { Controller, Post, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignalInbox } from './signal-inbox';

/**
 * The inbox route as Nest knows it. In a running app, InboxFastPath answers these requests
 * before express sees them; this route serves whenever it does not (e.g. a server it could not hook).
 */
@Controller('api/v1/signals')
export class SignalInboxController {
  constructor(private readonly inbox: SignalInbox) {}

  @Post()
  receive(@Req() request: IncomingMessage, @Res() response: ServerResponse): Promise<void> {
    return this.inbox.handle(request, response);
  }
}
