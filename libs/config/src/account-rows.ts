import { dirname } from 'node:path';
import type { AccountConfig } from './account-config';
import { completeAccount, rawAccountEntries, readAccountEntry } from './accounts-file';
import type { AppConfig } from './app-config';
import { nodeFiles, type ConfigFiles } from './config-files';
import type { ConfigProblem, Env } from './env-reader';
import { accountFromEnv } from './load-config';

/** An account as the database keeps it (docs/scale-out.md): its id and its accounts-file entry. */
export interface AccountEntryRow {
  id: string;
  entry: Record<string, unknown>;
}

/**
 * The rows this process's configuration gives at start: the entries of ACCOUNTS_FILE (each with
 * the file's defaults), or the one account `default` of the environment, its bridge secret named
 * by the variable that holds it. Secrets are never in a row.
 */
export function configuredAccountRows(config: AppConfig, files: ConfigFiles = nodeFiles): AccountEntryRow[] {
  if (config.accountsFile !== undefined)
    return rawAccountEntries(config.accountsFile, files).flatMap((entry) =>
      typeof entry.id === 'string' ? [{ id: entry.id, entry }] : [],
    );
  const only = config.accounts[0];
  if (only === undefined) return [];
  const entry: Record<string, unknown> =
    only.gateway === 'http'
      ? {
          id: only.id,
          gateway: 'http',
          bridge: { url: only.bridge?.url, key_id: only.bridge?.keyId, secret_env: 'MT5_BRIDGE_SECRET' },
        }
      : { id: only.id, gateway: 'paper', paper: { balance: only.paper.balance } };
  return [{ id: only.id, entry }];
}

/**
 * Makes an account of a row with the same rules as the accounts file, the environment giving
 * what the entry leaves out (as for the file's accounts), secrets resolved from this process's
 * environment or files.
 */
export function accountOfRow(
  row: AccountEntryRow,
  config: AppConfig,
  env: Env,
  files: ConfigFiles = nodeFiles,
): { ok: true; account: AccountConfig } | { ok: false; problems: ConfigProblem[] } {
  const baseDir = config.accountsFile === undefined ? process.cwd() : dirname(config.accountsFile);
  const read = readAccountEntry(row.entry, env, files, baseDir);
  if (read.account === undefined) return { ok: false, problems: read.problems };
  if (read.account.id !== row.id)
    return {
      ok: false,
      problems: [{ variable: 'account', account: row.id, key: 'id', expected: `the row's id ${row.id}` }],
    };
  return { ok: true, account: completeAccount(read.account, accountFromEnv(config)) };
}
