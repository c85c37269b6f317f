import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
import { sendJson, SignalInbox } from './signal-inbox';

const INBOX_PATHS = new Set(['/api/v1/signals', '/api/v1/signals/']);

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The inbox is the hot path, and express routing plus Nest's request pipeline cost more than the
 * inbox's own work (measured with npm run bench: about 1.5x the throughput without them). So
 * POST /api/v1/signals is answered straight from node's `request` event by the same SignalInbox
 * the controller uses; every other request goes on to express unchanged. The inbox needs none
 * of what it skips: it reads its own raw body, has no guard, and catches its own errors here.
 */
@Injectable()
export class InboxFastPath implements OnApplicationBootstrap {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly inbox: SignalInbox,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('inbox');
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    const listeners = server?.listeners('request') ?? [];
    if (server === undefined || listeners.length !== 1) {
      // Someone else hooks requests too; leave the server as it is and let the controller serve.
      this.logger.warn(
        { listeners: listeners.length },
        'inbox fast path not installed; the Nest route serves the inbox',
      );
      return;
    }
    const next = listeners[0] as RequestListener;
    server.removeListener('request', next);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      if (request.method !== 'POST' || !INBOX_PATHS.has((request.url ?? '').split('?')[0]))
        return next(request, response);
      this.inbox.handle(request, response).catch((error: unknown) => this.fail(response, error));
    });
  }

  /** What the last-resort filter does for express routes: log with context, answer 500, never crash. */
  private fail(response: ServerResponse, error: unknown): void {
    this.logger.error({ err: error }, 'inbox failed on a request');
    if (response.headersSent) return void response.end();
    sendJson(response, 500, { status: 'error', reason: 'internal_error' });
  }
}
