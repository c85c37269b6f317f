import { dirname } from 'node:path';
import { z } from 'zod';
import { ACCOUNT_ID_PATTERN, type AccountConfig } from './account-config';
import { readBridge, terminalOf } from './account-bridge';
import { readAccountKeys, SHARED_KEYS, type AccountKeys } from './account-keys';
import { withSettings } from './account-settings';
import type { Mt5GatewayKind } from './app-config';
import type { SecretSources } from './bridge-secret';
import type { ConfigFiles } from './config-files';
import type { ConfigProblem, Env } from './env-reader';
import { ACCOUNTS_FILE, isMapping, MappingReader } from './file-mapping';
import { readYamlFile } from './yaml-file';

/** More would be a mistake rather than a deployment: one process, one event loop. */
export const MAX_ACCOUNTS = 10_000;

const ACCOUNT_KEYS: readonly string[] = ['id', 'bridge', ...SHARED_KEYS];
const ACCOUNT_ID = z.string().regex(ACCOUNT_ID_PATTERN);

/** An account of the file as read: what the environment gives it comes later (`completeAccount`). */
export interface FileAccount {
  id: string;
  gateway: Mt5GatewayKind;
  bridge: AccountConfig['bridge'];
  /** Its own keys over those of `defaults`. */
  keys: AccountKeys;
}

export interface AccountsFile {
  /** Complete only when `problems` is empty. */
  accounts: FileAccount[];
  /** Some account has gateway http, even one with problems: the rules for real accounts apply. */
  tradesRealAccount: boolean;
  problems: ConfigProblem[];
}

/**
 * Reads ACCOUNTS_FILE (docs/accounts.md, Configuration). Every problem of the file is collected,
 * each naming its account and key, so that one start shows the operator all of them.
 */
export function readAccountsFile(path: string, env: Env, files: ConfigFiles): AccountsFile {
  const problems: ConfigProblem[] = [];
  const result: AccountsFile = { accounts: [], tradesRealAccount: false, problems };
  const parsed = readYamlFile(path, files);
  if (!parsed.ok) {
    problems.push({ variable: ACCOUNTS_FILE, expected: parsed.expected });
    return result;
  }
  if (!isMapping(parsed.value)) {
    problems.push({
      variable: ACCOUNTS_FILE,
      expected: 'a mapping with `accounts` (and optionally `defaults`)',
    });
    return result;
  }
  const top = new MappingReader(parsed.value, problems, undefined);
  top.refuseUnknown(['defaults', 'accounts']);
  const defaults = readDefaults(top);
  const list = top.values.accounts;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ACCOUNTS) {
    top.problem('accounts', `a list of 1 to ${MAX_ACCOUNTS} accounts`);
    return result;
  }
  const sources: SecretSources = { env, files, baseDir: dirname(path) };
  const read = list.map((raw, index) => readAccount(raw, index, defaults, sources, problems));
  refuseDuplicateIds(read, problems);
  refuseSharedTerminals(read, problems);
  result.tradesRealAccount = read.some((account) => account.gateway === 'http');
  result.accounts = read.flatMap((account) => (account.complete === undefined ? [] : [account.complete]));
  return result;
}

/** The file's account over the environment's: its keys, then defaults (already in `keys`), then the variables. */
export function completeAccount(account: FileAccount, fromEnv: AccountConfig): AccountConfig {
  const { keys } = account;
  return withSettings(
    {
      ...fromEnv,
      id: account.id,
      gateway: account.gateway,
      paper: { balance: keys.paperBalance ?? fromEnv.paper.balance },
      bridge: account.bridge,
      channels: keys.channels ?? fromEnv.channels,
      sizing: keys.sizing ?? fromEnv.sizing,
      telegram: {
        chatId: keys.telegramChatId ?? fromEnv.telegram.chatId,
        allowedUserIds: keys.telegramAllowedUserIds ?? fromEnv.telegram.allowedUserIds,
      },
    },
    keys.settings,
  );
}

interface Defaults {
  keys: AccountKeys;
  /** `defaults.gateway` was there, valid or not: an account without one is then no second problem. */
  hasGateway: boolean;
}

function readDefaults(top: MappingReader): Defaults {
  const none: Defaults = { keys: { settings: {} }, hasGateway: false };
  // `defaults:` left empty (every entry commented out) is no defaults, not a mistake.
  if (top.values.defaults === null) return none;
  const m = top.mapping('defaults', 'a mapping of keys every account gets');
  if (m === undefined) return none;
  m.refuseUnknown(SHARED_KEYS, ['id', 'bridge']);
  m.refuse('id', 'absent: each account has its own id');
  m.refuse('bridge', 'absent: a bridge is one terminal, never shared; give each http account its own');
  return { keys: readAccountKeys(m), hasGateway: m.has('gateway') };
}

/** One account as far as it could be read: what the checks across accounts need, and the whole if sound. */
interface ReadAccount {
  index: number;
  /** Undefined when the id is bad or missing (that is a problem already). */
  id: string | undefined;
  gateway: Mt5GatewayKind | undefined;
  /** The bridge's URL when valid, even if the rest of the bridge is not. */
  bridgeUrl: string | undefined;
  complete: FileAccount | undefined;
}

function readAccount(
  raw: unknown,
  index: number,
  { keys: defaults, hasGateway: defaultsHaveGateway }: Defaults,
  sources: SecretSources,
  problems: ConfigProblem[],
): ReadAccount {
  const label = `accounts[${index}]`;
  const none = { index, id: undefined, gateway: undefined, bridgeUrl: undefined, complete: undefined };
  if (!isMapping(raw)) {
    problems.push({ variable: ACCOUNTS_FILE, account: label, expected: 'a mapping: one account' });
    return none;
  }
  const idReader = new MappingReader(raw, problems, label);
  if (!idReader.has('id')) idReader.problem('id', '1-64 of [A-Za-z0-9._-] (required)');
  const id = idReader.read('id', ACCOUNT_ID, '1-64 of [A-Za-z0-9._-] (a string), not `.` or `..`');
  // Named by its id from here on, when it has a good one.
  const m = id === undefined ? idReader : new MappingReader(raw, problems, id);
  m.refuseUnknown(ACCOUNT_KEYS);
  const own = readAccountKeys(m);
  const gateway = own.gateway ?? (m.has('gateway') ? undefined : defaults.gateway);
  if (gateway === undefined && !m.has('gateway') && !defaultsHaveGateway)
    m.problem('gateway', '`paper` or `http` (required, on the account or in defaults)');
  const bridge = readGatewayParts(m, gateway, sources);
  const keys: AccountKeys = {
    gateway,
    paperBalance: own.paperBalance ?? defaults.paperBalance,
    settings: { ...defaults.settings, ...own.settings },
    channels: own.channels ?? defaults.channels,
    sizing: own.sizing ?? defaults.sizing,
    telegramChatId: own.telegramChatId ?? defaults.telegramChatId,
    telegramAllowedUserIds: own.telegramAllowedUserIds ?? defaults.telegramAllowedUserIds,
  };
  const sound =
    id !== undefined && gateway !== undefined && (gateway === 'paper' || bridge.complete !== undefined);
  return {
    index,
    id,
    gateway,
    bridgeUrl: bridge.url,
    complete: sound
      ? { id, gateway, bridge: gateway === 'http' ? bridge.complete : undefined, keys }
      : undefined,
  };
}

/** `bridge` with gateway http (required), never with paper; `paper` never with http. */
function readGatewayParts(
  m: MappingReader,
  gateway: Mt5GatewayKind | undefined,
  sources: SecretSources,
): { url: string | undefined; complete: AccountConfig['bridge'] } {
  const bridgeText = 'a mapping: { url, key_id, secret_env | secret_file }';
  if (gateway === 'paper') {
    m.refuse('bridge', 'absent with gateway paper (a bridge is for gateway http)');
    return { url: undefined, complete: undefined };
  }
  if (gateway === 'http') {
    m.refuse('paper', 'absent with gateway http (paper is for gateway paper)');
    if (!m.has('bridge')) m.problem('bridge', `${bridgeText} (required with gateway http)`);
  }
  const bridge = m.mapping('bridge', bridgeText);
  if (bridge === undefined) return { url: undefined, complete: undefined };
  return readBridge(bridge, sources);
}

/** Ids are unique ignoring case: an id may name a directory, and some file systems ignore case. */
function refuseDuplicateIds(accounts: ReadAccount[], problems: ConfigProblem[]): void {
  const first = new Map<string, ReadAccount>();
  for (const account of accounts) {
    if (account.id === undefined) continue;
    const key = account.id.toLowerCase();
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, account);
    else
      problems.push({
        variable: ACCOUNTS_FILE,
        account: account.id,
        key: 'id',
        expected: `an id no other account has, ignoring case (accounts[${earlier.index}] has it too)`,
      });
  }
}

/** Two accounts on one terminal would trade it twice, each guard blind to the other's positions. */
function refuseSharedTerminals(accounts: ReadAccount[], problems: ConfigProblem[]): void {
  const first = new Map<string, ReadAccount>();
  for (const account of accounts) {
    if (account.bridgeUrl === undefined) continue;
    const terminal = terminalOf(account.bridgeUrl);
    const earlier = first.get(terminal);
    if (earlier === undefined) first.set(terminal, account);
    else
      problems.push({
        variable: ACCOUNTS_FILE,
        account: account.id ?? `accounts[${account.index}]`,
        key: 'bridge.url',
        expected: `a terminal no other account trades (${earlier.id ?? `accounts[${earlier.index}]`} has the same one)`,
      });
  }
}

/**
 * One account as the accounts API takes it (`PUT /api/v1/accounts/:id`, docs/scale-out.md): an
 * entry of the accounts file (with the file's defaults already in it), checked by the same rules,
 * its secrets named (`secret_env`, `secret_file`), never inline.
 */
export function readAccountEntry(
  raw: unknown,
  env: Env,
  files: ConfigFiles,
  baseDir: string,
): { account: FileAccount | undefined; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const read = readAccount(
    raw,
    0,
    { keys: { settings: {} }, hasGateway: false },
    { env, files, baseDir },
    problems,
  );
  return { account: problems.length === 0 ? read.complete : undefined, problems };
}

/**
 * The accounts file's entries as they are written, each with the file's `defaults` under its own
 * keys: what the database keeps as the accounts' rows (names of secrets, never their values).
 */
export function rawAccountEntries(path: string, files: ConfigFiles): Record<string, unknown>[] {
  const parsed = readYamlFile(path, files);
  if (!parsed.ok || !isMapping(parsed.value)) return [];
  const defaults = isMapping(parsed.value.defaults) ? parsed.value.defaults : {};
  const list = parsed.value.accounts;
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry: unknown) => (isMapping(entry) ? [{ ...defaults, ...entry }] : []));
}
