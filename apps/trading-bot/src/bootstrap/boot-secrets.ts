import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AppConfig } from '@app/config';
import { readFileIfExists, writeFileAtomic } from '@app/state';

export const BOOT_SECRETS = Symbol('BOOT_SECRETS');

export interface BootSecrets {
  adminToken: string;
  signalsHmacSecret: string;
  /** Where generated secrets were written (paths, never values, are logged). */
  generated: string[];
}

/** A configured value, else the one an earlier start wrote to STATE_DIR, else a new one written there (0600). */
async function secretFromFile(
  configured: string | undefined,
  path: string,
  generated: string[],
): Promise<string> {
  if (configured !== undefined) return configured;
  const existing = (await readFileIfExists(path))?.trim();
  if (existing !== undefined && existing.length >= 16) return existing;
  const value = randomBytes(32).toString('hex');
  await writeFileAtomic(path, `${value}\n`, 0o600);
  generated.push(path);
  return value;
}

/**
 * ADMIN_TOKEN and SIGNALS_HMAC_SECRET. Config validation already refused a missing inbox
 * secret outside paper mode, so generating one here only happens for the paper account.
 */
export async function resolveBootSecrets(config: AppConfig): Promise<BootSecrets> {
  const generated: string[] = [];
  const adminToken = await secretFromFile(config.adminToken, join(config.stateDir, 'admin-token'), generated);
  const signalsHmacSecret = await secretFromFile(
    config.signals.hmacSecret,
    join(config.stateDir, 'signals-secret'),
    generated,
  );
  return { adminToken, signalsHmacSecret, generated };
}
