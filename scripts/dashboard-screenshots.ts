/**
 * The README's screenshots of the dashboard (docs/screenshots/*.png), taken with playwright-core
 * in Debian's headless Chromium from a running service, e.g. `npm start`:
 *
 *   DASHBOARD_URL=http://localhost:3000 DASHBOARD_TOKEN=<admin token> \
 *     node -r ./scripts/register-ts.cjs scripts/dashboard-screenshots.ts
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '../test/support/headless-chromium';

async function main(): Promise<void> {
  const base = process.env.DASHBOARD_URL ?? 'http://localhost:3000';
  const token = process.env.DASHBOARD_TOKEN;
  const account = process.env.DASHBOARD_ACCOUNT;
  if (token === undefined)
    throw new Error('DASHBOARD_TOKEN: the admin token of the service at DASHBOARD_URL');
  const out = join(__dirname, '..', 'docs', 'screenshots');
  mkdirSync(out, { recursive: true });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${base}/dashboard`);
    await page.screenshot({ path: join(out, 'dashboard-sign-in.png') });
    await page.fill('#token', token);
    await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
    await page.locator('[data-testid=account-row]').first().waitFor();
    await page.screenshot({ path: join(out, 'dashboard-accounts.png') });
    const id =
      account ?? (await page.locator('[data-testid=account-row]').first().getAttribute('data-account'));
    await page.goto(`${base}/dashboard#/accounts/${encodeURIComponent(id ?? 'default')}`);
    await page.locator('[data-testid=account-status]').waitFor();
    await page.locator('.uplot').first().waitFor();
    // The what-if table asks for the account's own cap once its status is known: the next refresh.
    await page.locator('[data-testid=what-if]').waitFor();
    await page.setViewportSize({ width: 1280, height: 1500 });
    await page.screenshot({ path: join(out, 'dashboard-account.png') });
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
