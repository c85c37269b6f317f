import {
  BadRequestException,
  Controller,
  ForbiddenException,
  Get,
  Inject,
  NotFoundException,
  Param,
  Post,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AnalyticsService, EventStreamHub } from '@app/analytics';
import { AccountRegistry, SCHEDULER, type Clock, type Scheduler } from '@app/core';
import { CLOCK } from '@app/config';
import { parseBody } from '@app/common';
import { z } from 'zod';
import {
  cookieOf,
  CSRF_HEADER,
  DASHBOARD_SECURITY_HEADERS,
  isSameOrigin,
  sameSecret,
  SESSION_COOKIE,
} from './dashboard-http';
import { overviewOf, type Overview } from './dashboard-overview';
import type { DashboardSession } from './dashboard-sessions';
import { DashboardSessions } from './dashboard-sessions';
import { LoopbackApi } from './loopback-api';
import { readSmallBody } from './read-small-body';

const ACCOUNT_ID = /^[A-Za-z0-9._-]{1,64}$/;

const haltBody = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });
const resumeBody = z.strictObject({
  reviewed_by: z.string().trim().min(1).max(100),
  note: z.string().trim().max(1000).optional(),
});

/**
 * What the page calls, with its session cookie instead of the admin token. Reads are open to
 * both roles; halt and resume need the admin role, this site's Origin and the session's CSRF
 * token (with the SameSite=Strict cookie: a cross-site request gets nowhere).
 */
@Controller('dashboard/api')
export class DashboardApiController {
  constructor(
    private readonly sessions: DashboardSessions,
    private readonly accounts: AccountRegistry,
    private readonly analytics: AnalyticsService,
    private readonly hub: EventStreamHub,
    private readonly api: LoopbackApi,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
  ) {}

  /** The page learns its role (to show or hide the buttons) and its CSRF token here. */
  @Get('session')
  session(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const session = this.signedIn(req, res);
    return {
      role: session.role,
      csrf_token: session.csrfToken,
      expires_at: new Date(session.expiresAt).toISOString(),
    };
  }

  @Get('overview')
  overview(@Req() req: Request, @Res({ passthrough: true }) res: Response): Overview {
    this.signedIn(req, res);
    return overviewOf(this.accounts, this.analytics, this.clock.now());
  }

  /** Every account's events, live (the /api/v1 stream is per account once there are several). */
  @Get('events/stream')
  stream(@Req() req: Request, @Res() res: Response): void {
    this.endsWithSession(this.signedIn(req, res), res);
    this.hub.attach(res);
  }

  @Get('accounts/:id/events/stream')
  streamOf(@Param('id') id: string, @Req() req: Request, @Res() res: Response): void {
    const session = this.signedIn(req, res);
    if (this.accounts.account(id) === undefined)
      throw new NotFoundException({ status: 'refused', reason: 'unknown_account', account_id: id });
    this.endsWithSession(session, res);
    this.hub.attach(res, id);
  }

  @Get('accounts/:id/status')
  status(@Param('id') id: string, @Req() req: Request, @Res() res: Response): void {
    this.forwardRead(id, 'status', req, res);
  }

  @Get('accounts/:id/positions')
  positions(@Param('id') id: string, @Req() req: Request, @Res() res: Response): void {
    this.forwardRead(id, 'positions', req, res);
  }

  @Get('accounts/:id/analytics')
  analyticsOf(@Param('id') id: string, @Req() req: Request, @Res() res: Response): void {
    this.forwardRead(id, 'analytics', req, res);
  }

  @Get('accounts/:id/analytics/what-if')
  whatIf(@Param('id') id: string, @Req() req: Request, @Res() res: Response): void {
    this.forwardRead(id, 'analytics/what-if', req, res);
  }

  @Get('accounts/:id/events')
  events(@Param('id') id: string, @Req() req: Request, @Res() res: Response): void {
    this.forwardRead(id, 'events', req, res);
  }

  @Get('accounts/:id/export')
  export(@Param('id') id: string, @Req() req: Request, @Res() res: Response): void {
    this.forwardRead(id, 'export', req, res);
  }

  @Post('accounts/:id/halt')
  async halt(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    this.actingAdmin(req, res);
    const body = parseBody(haltBody, await this.bodyOf(req));
    this.api.forward(req, res, this.apiPath(id, 'halt'), {
      reason: body.reason ?? 'manual halt from the dashboard',
      by: 'dashboard',
    });
  }

  @Post('accounts/:id/resume')
  async resume(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    this.actingAdmin(req, res);
    const body = parseBody(resumeBody, await this.bodyOf(req));
    this.api.forward(req, res, this.apiPath(id, 'resume'), {
      reviewed_by: body.reviewed_by,
      ...(body.note === undefined ? {} : { note: body.note }),
    });
  }

  /** A read of both roles: the /api/v1 route of the same name, with the same query. */
  private forwardRead(id: string, view: string, req: Request, res: Response): void {
    this.signedIn(req, res);
    this.api.forward(req, res, this.apiPath(id, view, req));
  }

  /** A live stream lasts no longer than its session: sign-out or expiry ends it. */
  private endsWithSession(session: DashboardSession, res: Response): void {
    const end = () => res.end();
    const unregister = this.sessions.onEnd(session, end);
    const cancelExpiry = this.scheduler.after(Math.max(0, session.expiresAt - this.clock.now()), () =>
      this.sessions.find(session.id),
    );
    res.on('close', () => {
      unregister();
      cancelExpiry();
    });
  }

  private signedIn(req: Request, res: Response): DashboardSession {
    res.set({ ...DASHBOARD_SECURITY_HEADERS, 'Cache-Control': 'no-store' });
    const session = this.sessions.find(cookieOf(req, SESSION_COOKIE));
    if (session === undefined)
      throw new UnauthorizedException({ status: 'refused', reason: 'not_signed_in' });
    return session;
  }

  /** Origin first: a cross-site post is refused whatever cookie it carries. */
  private actingAdmin(req: Request, res: Response): DashboardSession {
    res.set({ ...DASHBOARD_SECURITY_HEADERS, 'Cache-Control': 'no-store' });
    if (!isSameOrigin(req, true)) throw new ForbiddenException({ status: 'refused', reason: 'cross_site' });
    const session = this.signedIn(req, res);
    if (session.role !== 'admin')
      throw new ForbiddenException({ status: 'refused', reason: 'viewer_cannot_act' });
    const csrf = req.headers[CSRF_HEADER];
    if (typeof csrf !== 'string' || !sameSecret(csrf, session.csrfToken))
      throw new ForbiddenException({ status: 'refused', reason: 'csrf_token_missing_or_wrong' });
    return session;
  }

  private async bodyOf(req: Request): Promise<unknown> {
    const body = await readSmallBody(req);
    if (!body.ok) throw new BadRequestException({ status: 'refused', reason: body.reason });
    return body.fields;
  }

  private apiPath(id: string, view: string, req?: Request): string {
    if (!ACCOUNT_ID.test(id))
      throw new NotFoundException({ status: 'refused', reason: 'unknown_account', account_id: id });
    const query = req === undefined ? '' : new URL(req.originalUrl, 'http://dashboard.invalid').search;
    return `/api/v1/accounts/${encodeURIComponent(id)}/${view}${query}`;
  }
}
