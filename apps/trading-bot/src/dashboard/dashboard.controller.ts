import { Controller, Get, Inject, Logger, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { ADMIN_TOKEN } from '@app/common';
import { DashboardAssets } from './dashboard-assets';
import {
  clearedSessionCookie,
  cookieOf,
  DASHBOARD_SECURITY_HEADERS,
  isSameOrigin,
  roleOfToken,
  SESSION_COOKIE,
  sessionCookie,
} from './dashboard-http';
import { assetsMissingPage, dashboardPage, signInPage } from './dashboard-pages';
import { DASHBOARD_SESSION_TTL_MS, DashboardSessions } from './dashboard-sessions';
import { readSmallBody } from './read-small-body';

const isForm = (req: Request): boolean =>
  (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');

/** The page, its assets, sign-in and sign-out (docs/dashboard.md). */
@Controller('dashboard')
export class DashboardController {
  private readonly logger = new Logger('dashboard');

  constructor(
    private readonly sessions: DashboardSessions,
    private readonly assets: DashboardAssets,
    @Inject(ADMIN_TOKEN) private readonly adminToken: string,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The dashboard with a session, the sign-in form without one. */
  @Get()
  page(@Req() req: Request, @Res() res: Response): void {
    res.set({ ...DASHBOARD_SECURITY_HEADERS, 'Cache-Control': 'no-store' }).type('html');
    if (this.sessions.find(cookieOf(req, SESSION_COOKIE)) === undefined) {
      res.status(200).send(signInPage());
      return;
    }
    if (!this.assets.built) {
      res.status(503).send(assetsMissingPage());
      return;
    }
    res.status(200).send(dashboardPage());
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: Response): void {
    res.set(DASHBOARD_SECURITY_HEADERS);
    const asset = this.assets.get(name);
    if (asset === undefined) {
      res.status(404).json({ status: 'refused', reason: 'not_found' });
      return;
    }
    res.set({ 'Content-Type': asset.contentType, 'Cache-Control': 'no-cache' }).status(200).send(asset.body);
  }

  /** `token` (form-encoded or JSON): the admin token or VIEWER_TOKEN. */
  @Post('login')
  async login(@Req() req: Request, @Res() res: Response): Promise<void> {
    res.set({ ...DASHBOARD_SECURITY_HEADERS, 'Cache-Control': 'no-store' });
    // Signing someone in from another site (login CSRF) is refused like any cross-site post.
    if (!isSameOrigin(req, false)) {
      res.status(403).json({ status: 'refused', reason: 'cross_site' });
      return;
    }
    const form = isForm(req);
    const body = await readSmallBody(req);
    const token = body.ok && typeof body.fields.token === 'string' ? body.fields.token : '';
    const role = token === '' ? undefined : roleOfToken(token, this.adminToken, this.config.viewerToken);
    if (role === undefined) {
      this.logger.warn({ type: 'dashboard_sign_in_refused' }, 'dashboard sign-in refused');
      if (form) res.status(401).type('html').send(signInPage('That token is not accepted.'));
      else res.status(401).json({ status: 'refused', reason: 'unauthorized' });
      return;
    }
    const session = this.sessions.open(role);
    this.logger.log({ type: 'dashboard_sign_in', role }, 'dashboard sign-in');
    res.setHeader('Set-Cookie', sessionCookie(req, session.id, DASHBOARD_SESSION_TTL_MS));
    if (form) res.redirect(303, '/dashboard');
    else res.status(200).json({ status: 'ok', role });
  }

  @Post('logout')
  logout(@Req() req: Request, @Res() res: Response): void {
    res.set({ ...DASHBOARD_SECURITY_HEADERS, 'Cache-Control': 'no-store' });
    if (!isSameOrigin(req, false)) {
      res.status(403).json({ status: 'refused', reason: 'cross_site' });
      return;
    }
    this.sessions.close(cookieOf(req, SESSION_COOKIE));
    res.setHeader('Set-Cookie', clearedSessionCookie(req));
    if (isForm(req)) res.redirect(303, '/dashboard');
    else res.status(200).json({ status: 'ok' });
  }
}
