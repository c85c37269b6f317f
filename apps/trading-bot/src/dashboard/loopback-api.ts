import { request } from 'node:http';
import { Logger } from '@nestjs/common';
import type { Request, Response } from 'express';

/** A read (an export) that stalls this long is abandoned. */
const UPSTREAM_IDLE_TIMEOUT_MS = 30_000;
/** Upstream headers worth passing on (an export's file name, its type). */
const PASSED_HEADERS = ['content-type', 'content-disposition'] as const;

/**
 * Forwards a dashboard call to the same route under /api/v1 on this very server, with the admin
 * token the dashboard session stands for: every API route (those added later too) answers the
 * page exactly as it answers a script, and the token never reaches the browser. The answer is
 * streamed through (an export is never held whole).
 */
export class LoopbackApi {
  private readonly logger = new Logger('dashboard');

  constructor(private readonly adminToken: string) {}

  forward(req: Request, res: Response, apiPath: string, body?: Record<string, unknown>): void {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const upstream = request(
      {
        // The address and port this request came in on: the server certainly listens there.
        host: req.socket.localAddress,
        port: req.socket.localPort,
        path: apiPath,
        method: payload === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${this.adminToken}`,
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: UPSTREAM_IDLE_TIMEOUT_MS,
      },
      (answer) => {
        res.status(answer.statusCode ?? 502);
        for (const name of PASSED_HEADERS) {
          const value = answer.headers[name];
          if (value !== undefined) res.setHeader(name, value);
        }
        answer.pipe(res);
        // Cut short upstream (an export that failed part-way): end the browser's answer as cut
        // short too, never leave it waiting.
        answer.on('aborted', () => res.destroy());
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer from ${apiPath} within the timeout`)));
    upstream.on('error', (error) => {
      this.logger.warn({ err: error, path: apiPath }, 'dashboard call to the API failed');
      if (!res.headersSent) res.status(502).json({ status: 'error', reason: 'upstream_failed' });
      else res.destroy();
    });
    // The browser left (a closed tab during an export): stop the upstream work too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(payload);
  }
}
