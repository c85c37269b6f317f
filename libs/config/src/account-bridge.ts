import { z } from 'zod';
import type { AccountConfig } from './account-config';
import { secretFromEnv, secretFromFile, type SecretResult, type SecretSources } from './bridge-secret';
import { httpUrl } from './env-reader';
import type { MappingReader } from './file-mapping';

/** The bridge's base URL (MT5_BRIDGE_URL or `bridge.url`); a path prefix is allowed (one host, several terminals). */
export const BRIDGE_URL = { rule: httpUrl, expected: 'an http(s) URL' };

const BRIDGE_KEYS = ['url', 'key_id', 'secret_env', 'secret_file'] as const;
const KEY_ID = z.string().min(1);

/**
 * An account's `bridge: { url, key_id, secret_env | secret_file }`. The secret itself is never in
 * the file (the file is shared, copied, committed): `secret` is refused with where to put it.
 */
export function readBridge(
  m: MappingReader,
  sources: SecretSources,
): { url: string | undefined; complete: AccountConfig['bridge'] } {
  m.refuseUnknown(BRIDGE_KEYS, ['secret']);
  m.refuse('secret', 'absent: a secret is never inline; use secret_env (a variable) or secret_file (a path)');
  const url = required(m, 'url', BRIDGE_URL.rule, BRIDGE_URL.expected);
  const keyId = required(m, 'key_id', KEY_ID, 'a key id (a string)');
  const secret = readSecret(m, sources);
  // The URL on its own too: two accounts on one terminal is worth saying while the secret is still missing.
  const complete =
    url === undefined || keyId === undefined || secret === undefined ? undefined : { url, keyId, secret };
  return { url, complete };
}

function readSecret(m: MappingReader, sources: SecretSources): string | undefined {
  const fromEnv = m.has('secret_env');
  const fromFile = m.has('secret_file');
  if (fromEnv && fromFile) {
    m.problem('secret_file', 'absent when secret_env is set (one source for the secret)');
    return undefined;
  }
  if (!fromEnv && !fromFile) {
    if (!m.has('secret'))
      m.problem('secret_env', 'a variable name, or secret_file a path (required: the secret)');
    return undefined;
  }
  const key = fromEnv ? 'secret_env' : 'secret_file';
  const result: SecretResult = fromEnv
    ? secretFromEnv(m.values.secret_env, sources)
    : secretFromFile(m.values.secret_file, sources);
  if (result.ok) return result.secret;
  m.problem(key, result.expected);
  return undefined;
}

function required<T>(m: MappingReader, key: string, rule: z.ZodType<T>, expected: string): T | undefined {
  if (!m.has(key)) m.problem(key, `${expected} (required)`);
  return m.read(key, rule, expected);
}

/**
 * The terminal a bridge URL reaches, for "two accounts, one terminal": lower-case host (URL does
 * it), no default port (URL drops it), no trailing slash, no query.
 */
export function terminalOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
}
