import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import type { ConfigFiles } from './config-files';
import { EnvReader, type Env } from './env-reader';

/** The bridge's signing secret, wherever it comes from (MT5_BRIDGE_SECRET, secret_env, secret_file). */
export const BRIDGE_SECRET = { rule: z.string().min(8), expected: 'a secret of at least 8 characters' };

/** Where the secrets named in ACCOUNTS_FILE are read: the service's environment and its files. */
export interface SecretSources {
  env: Env;
  files: ConfigFiles;
  /** A relative `secret_file` is relative to the accounts file's directory. */
  baseDir: string;
}

/** The secret, or what is wrong, in words that never include the secret (nor the name given for it). */
export type SecretResult = { ok: true; secret: string } | { ok: false; expected: string };

const VARIABLE_NAME = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/);

/**
 * `secret_env`: the name of a variable that holds the secret. The name is not echoed in a problem:
 * had someone put the secret itself there, the log would show it.
 */
export function secretFromEnv(name: unknown, sources: SecretSources): SecretResult {
  if (!VARIABLE_NAME.safeParse(name).success)
    return { ok: false, expected: 'the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*)' };
  const value = new EnvReader(sources.env).raw(name as string);
  if (value === undefined)
    return { ok: false, expected: 'the name of a set environment variable (it is unset or empty)' };
  return checked(value, 'the name of a variable holding');
}

/** `secret_file`: a file that holds the secret; one trailing newline (as `echo` writes) is not part of it. */
export function secretFromFile(path: unknown, sources: SecretSources): SecretResult {
  if (typeof path !== 'string' || path.trim() === '') return { ok: false, expected: 'a file path' };
  const fullPath = isAbsolute(path) ? path : join(sources.baseDir, path);
  let text: string;
  try {
    text = sources.files.readText(fullPath);
  } catch (error) {
    // Only the error's code: a message would repeat the path, and the path could be a misplaced secret.
    return { ok: false, expected: `a readable file (cannot read it: ${errorCode(error)})` };
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') return { ok: false, expected: 'a file holding the bridge secret (it is empty)' };
  return checked(value, 'a file holding');
}

function checked(value: string, holder: string): SecretResult {
  return BRIDGE_SECRET.rule.safeParse(value).success
    ? { ok: true, secret: value }
    : { ok: false, expected: `${holder} ${BRIDGE_SECRET.expected}` };
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string')
    return error.code;
  return 'read failed';
}
