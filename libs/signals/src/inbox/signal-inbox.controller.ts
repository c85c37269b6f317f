import { Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { parseSignalBody, verifyInboxRequest, type Clock } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { Lifecycle } from '@app/common';
import { SignalPipeline } from '../approval/signal-pipeline';
import { SIGNALS_HMAC_SECRET } from '../signals.tokens';
import { readRawBody } from './read-raw-body';

export const MAX_SIGNAL_BODY_BYTES = 16 * 1024;

/**
 * POST /api/v1/signals: the HMAC-signed inbox. Checks run cheapest-first and nothing refused
 * reaches the pipeline: size (413), signature and replay window (401), JSON and rules (400),
 * duplicate (200), halted (423), else 202.
 */
@Controller('api/v1/signals')
export class SignalInboxController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SIGNALS_HMAC_SECRET) private readonly secret: string,
    private readonly pipeline: SignalPipeline,
    private readonly lifecycle: Lifecycle,
  ) {}

  @Post()
  @HttpCode(202)
  async receive(@Req() request: Request, @Res() response: Response): Promise<void> {
    if (this.lifecycle.stopping) {
      request.resume();
      response.status(503).json({ status: 'refused', reason: 'stopping' });
      return;
    }
    const raw = await readRawBody(request, MAX_SIGNAL_BODY_BYTES);
    if (!raw.ok) {
      response.status(raw.reason === 'too_large' ? 413 : 400).json({ status: 'refused', reason: raw.reason });
      return;
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
      response.status(401).json({ status: 'refused', reason: check.reason });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.body.toString('utf8'));
    } catch {
      response.status(400).json({
        status: 'refused',
        reason: 'invalid_json',
        errors: [{ field: 'body', message: 'not valid JSON' }],
      });
      return;
    }
    const parsed = parseSignalBody(body, this.config.signals.maxVolume, now, 'inbox');
    if (!parsed.ok) {
      response.status(400).json({ status: 'refused', reason: 'invalid_signal', errors: parsed.errors });
      return;
    }
    const outcome = await this.pipeline.submit(parsed.signal);
    switch (outcome) {
      case 'accepted':
        response.status(202).json({ id: parsed.signal.id, status: 'accepted' });
        return;
      case 'duplicate':
        response.status(200).json({ id: parsed.signal.id, status: 'duplicate' });
        return;
      case 'halted':
        response.status(423).json({ id: parsed.signal.id, status: 'rejected', reason: 'halted' });
        return;
    }
  }
}

function header(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
