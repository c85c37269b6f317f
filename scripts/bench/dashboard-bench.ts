/**
 * The dashboard's first render (docs/dashboard.md): with 2,000 paper accounts, against the same
 * page with one account in the same run, in Debian's headless Chromium.
 *
 * One measure is a fresh page load, signed in, from navigation start to the moment the overview
 * has every account counted and its rows in view drawn (the page's own performance mark). The median of RUNS loads each; the target is under 1 s.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import {
  buildDashboardAssets,
  chromiumAvailable,
  CHROMIUM_PATH,
  launchChromium,
} from '../../test/support/headless-chromium';
import { fmt, percentile, rows, say, startService } from './bench-support';

const MANY = Number(process.env.BENCH_DASHBOARD_ACCOUNTS ?? 2000);
const RUNS = Number(process.env.BENCH_DASHBOARD_RUNS ?? 7);
const TARGET_MS = 1000;
const ADMIN = 'bench-dashboard-admin-token-0123456789';

async function paperAccountsFile(n: number): Promise<{ file: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-dashboard-'));
  const lines = ['accounts:'];
  for (let i = 0; i < n; i++) lines.push(`  - id: p${String(i).padStart(4, '0')}`, '    gateway: paper');
  const file = join(dir, 'accounts.yaml');
  await writeFile(file, `${lines.join('\n')}\n`);
  return { file, dir };
}

/** First-render times (ms) of `RUNS` fresh loads of the dashboard of a service with `n` accounts. */
async function firstRenders(browser: Browser, n: number): Promise<number[]> {
  const accounts = await paperAccountsFile(n);
  const service = await startService({ ACCOUNTS_FILE: accounts.file, ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' });
  const base = `http://127.0.0.1:${service.port}`;
  const times: number[] = [];
  try {
    const login = await fetch(`${base}/dashboard/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: ADMIN }),
    });
    const session = (login.headers.get('set-cookie') ?? '').split(';')[0].split('=')[1];
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addCookies([{ name: 'dashboard_session', value: session, url: `${base}/dashboard` }]);
    const page = await context.newPage();
    // One load to warm the caches (HTTP, the JIT of the service's routes), as an operator's second visit.
    for (let run = 0; run <= RUNS; run++) {
      await page.goto(`${base}/dashboard`);
      await page.locator('[data-testid=summary]', { hasText: `${n} accounts` }).waitFor({ timeout: 30_000 });
      await page.locator('[data-testid=account-row]').first().waitFor({ timeout: 30_000 });
      // The page marks its first render (apps/dashboard/src/overview-view.ts); ms since navigation start.
      const ms = await page.evaluate(
        () => performance.getEntriesByName('dashboard-overview-rendered')[0]?.startTime ?? Number.NaN,
      );
      if (run > 0) times.push(ms);
    }
    await context.close();
  } finally {
    await service.close();
    await rm(accounts.dir, { recursive: true, force: true });
  }
  return times;
}

export async function benchDashboard(): Promise<void> {
  if (!chromiumAvailable()) {
    say(`benchmark: dashboard skipped (no Chromium at ${CHROMIUM_PATH}; apt-get install -y chromium)`);
    return;
  }
  say(`benchmark: dashboard first render, ${MANY} accounts against 1...`);
  buildDashboardAssets();
  const browser = await launchChromium();
  try {
    const one = percentile(await firstRenders(browser, 1), 50);
    const many = await firstRenders(browser, MANY);
    const median = percentile(many, 50);
    rows.push([
      `dashboard: first render, ${MANY} paper accounts (load to rows drawn, median of ${RUNS})`,
      `${fmt(median, 0)} ms (max ${fmt(Math.max(...many), 0)})`,
      `${fmt(one, 0)} ms (the same page, 1 account)`,
      fmt(median / one),
      `< ${TARGET_MS} ms`,
      median < TARGET_MS ? 'ok' : 'MISSED',
    ]);
  } finally {
    await browser.close();
  }
}
