import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
import { parseSignalBody, SignalFanOut, verifyInboxRequest, type Clock } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { Lifecycle } from '@app/common';
import { SIGNALS_HMAC_SECRET } from '../signals.tokens';
import { readRawBody } from './read-raw-body';

/** A signal body (docs/service.md). */
export const MAX_SIGNAL_BODY_BYTES = 16 * 1024;
/**
 * With ACCOUNTS_FILE a signal may name up to 10,000 accounts (docs/accounts.md): 10,000 ids of up
 * to 64 characters need about 670 KB, so a process of several accounts takes bodies up to 1 MiB.
 */
export const MAX_FAN_OUT_BODY_BYTES = 1024 * 1024;

/**
 * POST /api/v1/signals: the HMAC-signed inbox, on node's own request and response (it reads the
 * raw bytes the signature covers, and runs with or without express, see inbox-fast-path.ts).
 * Checks run cheapest-first and nothing refused reaches the fan-out: size (413), signature and
 * replay window (401), JSON and rules (400); then the fan-out answers: unknown accounts (400), no
 * account on the channel (422), duplicate (200), every target halted (423), else 202 with the
 * number of accounts that trade it.
 */
@Injectable()
export class SignalInbox {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SIGNALS_HMAC_SECRET) private readonly secret: string,
    private readonly fanOut: SignalFanOut,
    private readonly lifecycle: Lifecycle,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('inbox');
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.lifecycle.stopping) {
      request.resume();
      return this.refuse(response, 503, { status: 'refused', reason: 'stopping' });
    }
    const raw = await readRawBody(
      request,
      this.config.accountsFile === undefined ? MAX_SIGNAL_BODY_BYTES : MAX_FAN_OUT_BODY_BYTES,
    );
    if (!raw.ok) {
      return this.refuse(response, raw.reason === 'too_large' ? 413 : 400, {
        status: 'refused',
        reason: raw.reason,
      });
    }
    const now = this.clock.now();
    const check = verifyInboxRequest(
      this.secret,
      header(request, 'x-timestamp'),
      header(request, 'x-signature'),
      raw.body,
      now,
      this.config.signals.maxAgeMs,
    );
    if (!check.ok) {
      return this.refuse(response, 401, { status: 'refused', reason: check.reason });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.body.toString('utf8'));
    } catch {
      return this.refuse(response, 400, {
        status: 'refused',
        reason: 'invalid_json',
        errors: [{ field: 'body', message: 'not valid JSON' }],
      });
    }
    const parsed = parseSignalBody(body, this.config.signals.maxVolume, now, 'inbox');
    if (!parsed.ok) {
      return this.refuse(response, 400, {
        status: 'refused',
        reason: 'invalid_signal',
        errors: parsed.errors,
      });
    }
    const outcome = await this.fanOut.submit(parsed.signal);
    const id = parsed.signal.id;
    switch (outcome.kind) {
      case 'accepted':
        // Without ACCOUNTS_FILE, the answer of docs/service.md; with it, how many accounts trade it.
        sendJson(
          response,
          202,
          this.config.accountsFile === undefined
            ? { id, status: 'accepted' }
            : { id, status: 'accepted', accounts: outcome.accounts },
        );
        return;
      case 'duplicate':
        sendJson(response, 200, { id, status: 'duplicate' });
        return;
      case 'halted':
        sendJson(response, 423, { id, status: 'rejected', reason: 'halted' });
        return;
      case 'no_target_accounts':
        return this.refuse(response, 422, { status: 'refused', reason: 'no_target_accounts' });
      case 'unknown_accounts':
        return this.refuse(response, 400, {
          status: 'refused',
          reason: 'invalid_signal',
          errors: [
            {
              field: 'accounts',
              message: `unknown account ids: ${outcome.ids.slice(0, 50).join(', ')}${outcome.ids.length > 50 ? ` and ${outcome.ids.length - 50} more` : ''}`,
            },
          ],
        });
      case 'stopping':
        return this.refuse(response, 503, { status: 'refused', reason: 'stopping' });
      case 'unavailable':
        return this.refuse(response, 503, { status: 'refused', reason: 'state_unavailable' });
    }
  }

  /** Refusals are logged here (the request logger skips this route, see logger-options.ts). */
  private refuse(
    response: ServerResponse,
    status: number,
    body: { status: string; reason: string; errors?: unknown[] },
  ): void {
    this.logger.warn(
      { type: 'signal_refused', http_status: status, reason: body.reason, fields: body.errors },
      `inbox refused a request: ${body.reason}`,
    );
    sendJson(response, status, body);
  }
}

/** Plain node response writing: the inbox runs on node's request/response, with or without express. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
