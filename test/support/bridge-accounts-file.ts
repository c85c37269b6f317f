import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeBridgeAccount } from '../fakes/fake-bridge-account';

/** One bridge account of an accounts file: its id, its fake terminal, and extra YAML keys (`telegram_chat_id: "-100"`). */
export interface BridgeAccountEntry {
  id: string;
  bridge: FakeBridgeAccount;
  extra?: string[];
}

/**
 * An ACCOUNTS_FILE (docs/accounts.md) of http accounts, each on its fake terminal, its secret in
 * an environment variable of its own (`secret_env`, never inline), all on `channels`. Returns the
 * file's path and the environment that holds the secrets and points ACCOUNTS_FILE at it.
 */
export async function writeBridgeAccountsFile(
  entries: readonly BridgeAccountEntry[],
  options: { channels?: string[]; defaults?: string[] } = {},
): Promise<{ file: string; env: Record<string, string> }> {
  const channels = options.channels ?? ['default'];
  const env: Record<string, string> = {};
  const lines: string[] = [];
  if (options.defaults !== undefined && options.defaults.length > 0)
    lines.push('defaults:', ...options.defaults.map((l) => `  ${l}`));
  lines.push('accounts:');
  entries.forEach((entry, i) => {
    const secretEnv = `BRIDGE_SECRET_${i + 1}`;
    env[secretEnv] = entry.bridge.secret;
    lines.push(
      `  - id: ${entry.id}`,
      '    gateway: http',
      `    bridge: { url: "${entry.bridge.url}", key_id: "${entry.bridge.keyId}", secret_env: ${secretEnv} }`,
      `    channels: [${channels.join(', ')}]`,
      ...(entry.extra ?? []).map((l) => `    ${l}`),
    );
  });
  const dir = await mkdtemp(join(tmpdir(), 'bridge-accounts-'));
  const file = join(dir, 'accounts.yaml');
  await writeFile(file, `${lines.join('\n')}\n`);
  return { file, env: { ...env, ACCOUNTS_FILE: file } };
}
