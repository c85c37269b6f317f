import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`); the browser tests skip, saying so, without it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumAvailable = (): boolean => existsSync(CHROMIUM_PATH);

/**
 * Headless, sandbox off (containers), nothing phoning home. Playwright gives every launch a fresh
 * temporary profile (its own --user-data-dir), so no state leaks between runs.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The dashboard's bundle, as `npm run build` makes it (the in-process app serves dist/dashboard). */
export function buildDashboardAssets(): void {
  const root = join(__dirname, '..', '..');
  const result = spawnSync(process.execPath, [join(root, 'apps/dashboard/build.mjs')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`dashboard build failed: ${result.stderr}`);
}
