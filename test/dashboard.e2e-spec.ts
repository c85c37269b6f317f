import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  buildDashboardAssets,
  chromiumAvailable,
  CHROMIUM_PATH,
  launchChromium,
} from './support/headless-chromium';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';

const ADMIN = 'dashboard-admin-token-0123456789';
const VIEWER = 'dashboard-viewer-token-0123456789';
const SECRET = 'inbox-secret-for-the-dashboard';

if (!chromiumAvailable())
  console.warn(
    `dashboard browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`,
  );
const describeWithChromium = chromiumAvailable() ? describe : describe.skip;

/** A signed-in API session as a script would hold it: the cookie and the page's CSRF token. */
async function signIn(baseUrl: string, token: string): Promise<{ cookie: string; csrf: string }> {
  const login = await fetch(`${baseUrl}/dashboard/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(login.status).toBe(200);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  const session = await fetch(`${baseUrl}/dashboard/api/session`, { headers: { cookie } });
  const { csrf_token } = (await session.json()) as { csrf_token: string };
  return { cookie, csrf: csrf_token };
}

describeWithChromium('dashboard in headless Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let contexts: BrowserContext[] = [];

  beforeAll(async () => {
    buildDashboardAssets();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    t = await startTestApp({
      ADMIN_TOKEN: ADMIN,
      VIEWER_TOKEN: VIEWER,
      SIGNALS_HMAC_SECRET: SECRET,
      EQUITY_CHECK_INTERVAL_MS: '100',
    });
  });
  afterEach(async () => {
    for (const context of contexts) await context.close();
    contexts = [];
    await t.close();
  });

  /** A fresh browser context (its own cookies) signed in through the form. */
  async function signedInPage(token: string): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${t.baseUrl}/dashboard`);
    await page.fill('#token', token);
    await Promise.all([page.waitForURL(`${t.baseUrl}/dashboard`), page.click('button[type=submit]')]);
    return page;
  }

  const row = (page: Page, id = 'default') => page.locator(`[data-testid=account-row][data-account="${id}"]`);

  it('shows the sign-in form without a session, and the accounts after signing in', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const answer = await page.goto(`${t.baseUrl}/dashboard`);
    expect(answer?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect(page.locator('#token').count()).resolves.toBe(1);
    await page.fill('#token', 'not-the-token-at-all-0000');
    await page.click('button[type=submit]');
    await page.locator('.error').waitFor();

    const signed = await signedInPage(ADMIN);
    await row(signed).waitFor();
    await expect(row(signed).locator('.c-state').textContent()).resolves.toBe('running');
    await expect(signed.locator('[data-testid=role]').textContent()).resolves.toBe('admin');
    const cookies = await signed.context().cookies();
    const session = cookies.find((c) => c.name === 'dashboard_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(session?.value).not.toContain(ADMIN);
  });

  it('updates the account when a signal trades, without reloading the page', async () => {
    const page = await signedInPage(ADMIN);
    await row(page).waitFor();
    await expect(row(page).locator('.c-positions').textContent()).resolves.toBe('0');
    // A mark on the page's global object: gone if the page reloads.
    await page.evaluate(() => ((globalThis as Record<string, unknown>).notReloaded = true));

    expect((await postSignal(t.baseUrl, SECRET, signalBody())).status).toBe(202);
    await row(page).locator('.c-positions', { hasText: /^1$/ }).waitFor({ timeout: 10_000 });
    await expect(page.evaluate(() => (globalThis as Record<string, unknown>).notReloaded)).resolves.toBe(
      true,
    );
  });

  it('halts and resumes the account through the buttons', async () => {
    const page = await signedInPage(ADMIN);
    await row(page).locator('a').click();
    await page.locator('[data-testid=halt]').waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.fill('[data-testid=halt-form] input[name=reason]', 'checking from the browser test');
    await page.click('[data-testid=halt]');
    await page.locator('[data-testid=account-state]', { hasText: /^halted$/ }).waitFor();
    expect(t.account().isHalted()).toBe(true);

    await page.fill('[data-testid=resume-form] input[name=reviewed_by]', 'alice');
    await page.fill('[data-testid=resume-form] input[name=note]', 'looked at the positions');
    await page.click('[data-testid=resume]');
    await page.locator('[data-testid=account-state]', { hasText: /^running$/ }).waitFor();
    expect(t.account().isHalted()).toBe(false);
    const resumed = t.eventsOf('resumed');
    expect(resumed.at(-1)?.payload).toMatchObject({ reviewed_by: 'alice', note: 'looked at the positions' });
  });

  it('a viewer sees the account but no halt button, and a direct halt with its session is refused', async () => {
    const page = await signedInPage(VIEWER);
    await expect(page.locator('[data-testid=role]').textContent()).resolves.toBe('viewer');
    await row(page).locator('a').click();
    await page.locator('[data-testid=read-only]').waitFor();
    await expect(page.locator('[data-testid=halt]').count()).resolves.toBe(0);

    const viewer = await signIn(t.baseUrl, VIEWER);
    const direct = await fetch(`${t.baseUrl}/dashboard/api/accounts/default/halt`, {
      method: 'POST',
      headers: {
        cookie: viewer.cookie,
        'x-csrf-token': viewer.csrf,
        origin: t.baseUrl,
        'content-type': 'application/json',
      },
      body: '{}',
    });
    expect(direct.status).toBe(403);
    await expect(direct.json()).resolves.toMatchObject({ reason: 'viewer_cannot_act' });
    expect(t.account().isHalted()).toBe(false);
  });

  it('refuses a cross-site form post and a post with a foreign Origin', async () => {
    const page = await signedInPage(ADMIN);
    await row(page).waitFor();
    // Another origin (same host, another port: the same *site*, so the cookie would go along).
    const target = `${t.baseUrl}/dashboard/api/accounts/default/halt`;
    const evil: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(
        `<form id="f" method="post" action="${target}"><input name="reason" value="pwned"></form>` +
          `<button id="go" onclick="document.getElementById('f').submit()">go</button>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
      await page.goto(evilUrl);
      const [answer] = await Promise.all([page.waitForResponse(target), page.click('#go')]);
      expect(answer.status()).toBe(403);
      expect(t.account().isHalted()).toBe(false);
    } finally {
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }

    const admin = await signIn(t.baseUrl, ADMIN);
    const headers = { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' };
    const foreign = await fetch(target, {
      method: 'POST',
      headers: { ...headers, origin: 'https://evil.example' },
      body: '{}',
    });
    expect(foreign.status).toBe(403);
    await expect(foreign.json()).resolves.toMatchObject({ reason: 'cross_site' });
    const noCsrf = await fetch(target, {
      method: 'POST',
      headers: { ...headers, 'x-csrf-token': 'wrong', origin: t.baseUrl },
      body: '{}',
    });
    expect(noCsrf.status).toBe(403);
    expect(t.account().isHalted()).toBe(false);
    // The same session, its token and its Origin: the halt goes through (the refusals above were not for nothing else).
    const allowed = await fetch(target, {
      method: 'POST',
      headers: { ...headers, origin: t.baseUrl },
      body: '{}',
    });
    expect(allowed.status).toBe(200);
    expect(t.account().isHalted()).toBe(true);
  });

  it('keeps /api/v1 on the bearer token: the dashboard session opens nothing there', async () => {
    const admin = await signIn(t.baseUrl, ADMIN);
    const withCookie = await fetch(`${t.baseUrl}/api/v1/accounts`, { headers: { cookie: admin.cookie } });
    expect(withCookie.status).toBe(401);
    const noSession = await fetch(`${t.baseUrl}/dashboard/api/overview`);
    expect(noSession.status).toBe(401);
  });
});
