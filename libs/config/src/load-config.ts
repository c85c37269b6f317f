import { DEFAULT_ACCOUNT_ID, DEFAULT_CHANNEL, type AccountConfig } from './account-config';
import { DEFAULT_SIZING } from './account-sizing';
import { completeAccount, readAccountsFile } from './accounts-file';
import type { AppConfig } from './app-config';
import { readAlertConfig } from './alert-config';
import { readBrokerConfig } from './broker-config';
import { nodeFiles, type ConfigFiles } from './config-files';
import { EnvReader, type ConfigProblem, type Env } from './env-reader';
import { readRiskConfig } from './risk-config';
import { readServiceConfig } from './service-config';
import { readSignalConfig } from './signal-config';
import { readStateBackendConfig } from './state-backend-config';

export type { ConfigProblem } from './env-reader';
export type { ConfigFiles } from './config-files';

/** Valid but probably not meant: logged at start, never fatal. */
export type ConfigWarning = ConfigProblem;

export type ConfigResult =
  { ok: true; config: AppConfig; warnings: ConfigWarning[] } | { ok: false; problems: ConfigProblem[] };

/**
 * Reads every section, then the rules that cross sections; every problem is reported, not just
 * the first. With ACCOUNTS_FILE the accounts come from that file (read through `files`, as are
 * the secrets it names), the environment giving them defaults; without it, the one account
 * `default` comes from the environment.
 */
export function loadConfig(env: Env, files: ConfigFiles = nodeFiles): ConfigResult {
  const r = new EnvReader(env);
  const broker = readBrokerConfig(r);
  const { stateBackend } = readStateBackendConfig(r);
  const service = readServiceConfig(r, stateBackend.kind === 'files');
  const risk = readRiskConfig(r);
  const accountsFile = r.raw('ACCOUNTS_FILE');
  const fromFile = accountsFile === undefined ? undefined : readAccountsFile(accountsFile, env, files);
  r.problems.push(...(fromFile?.problems ?? []));
  const tradesRealAccount = fromFile?.tradesRealAccount ?? broker.mt5.gateway === 'http';
  const base: Omit<AppConfig, 'accounts' | 'accountsFile'> = {
    ...service,
    stateBackend,
    risk,
    ...broker,
    ...readSignalConfig(r, tradesRealAccount),
    ...readAlertConfig(r),
  };
  const fromEnv = accountFromEnv(base);
  const accounts = fromFile?.accounts.map((account) => completeAccount(account, fromEnv)) ?? [fromEnv];
  const config: AppConfig = { ...base, accountsFile, accounts };
  if (fromFile === undefined) requireTheBridgeVariables(r, config);
  if (tradesRealAccount) requireWhatRealAccountsNeed(r, config);
  requireWhatTheSourcesNeed(r, config);
  if (stateBackend.kind === 'postgres') {
    // Several processes must agree: a secret generated into each one's STATE_DIR would differ.
    r.require(
      'ADMIN_TOKEN',
      'at least 16 characters, the same on every process',
      'with STATE_BACKEND=postgres',
    );
    r.require(
      'SIGNALS_HMAC_SECRET',
      'the inbox secret, the same on every process',
      'with STATE_BACKEND=postgres',
    );
    // Pending approvals live in the owner's memory and are posted by it: not across processes yet.
    for (const account of config.accounts)
      if (account.approvalMode === 'manual')
        r.problems.push({
          variable: config.accountsFile === undefined ? 'APPROVAL_MODE' : 'ACCOUNTS_FILE',
          expected:
            '`auto` with STATE_BACKEND=postgres (manual approval is not supported across processes yet)',
          ...(config.accountsFile === undefined ? {} : { account: account.id, key: 'approval_mode' }),
        });
  }
  const warnings = [...telegramPairWarnings(config), ...ignoredBridgeWarnings(r, config)];
  return r.problems.length > 0 ? { ok: false, problems: r.problems } : { ok: true, config, warnings };
}

/** The one account of a service without ACCOUNTS_FILE: `default`, from the environment exactly as before accounts existed. */
export function accountFromEnv(config: Omit<AppConfig, 'accounts' | 'accountsFile'>): AccountConfig {
  const { mt5, risk, signals, paper } = config;
  return {
    id: DEFAULT_ACCOUNT_ID,
    gateway: mt5.gateway,
    paper: { balance: paper.balance },
    bridge:
      mt5.gateway === 'http'
        ? { url: mt5.bridgeUrl ?? '', keyId: mt5.bridgeKeyId ?? '', secret: mt5.bridgeSecret ?? '' }
        : undefined,
    risk: {
      drawdownCapPercent: risk.drawdownCapPercent,
      baselineMode: risk.baselineMode,
      dailyLossCapPercent: risk.dailyLossCapPercent,
      dailyResetTimezone: risk.dailyResetTimezone,
      warnRatio: risk.warnRatio,
      confirmReads: risk.confirmReads,
    },
    maxVolume: signals.maxVolume,
    maxOrdersPerSecond: signals.maxOrdersPerSecond,
    approvalMode: signals.approvalMode,
    mt5: { magic: mt5.magic, timeoutMs: mt5.timeoutMs, maxRetries: mt5.maxRetries },
    channels: [DEFAULT_CHANNEL],
    sizing: { ...DEFAULT_SIZING },
    // The single account's alerts go to the operator chat (TELEGRAM_CHAT_ID), as before.
    telegram: { chatId: undefined, allowedUserIds: [] },
  };
}

/** MT5_GATEWAY=http (without ACCOUNTS_FILE) trades through the bridge the MT5_BRIDGE_* variables name. */
function requireTheBridgeVariables(r: EnvReader, config: AppConfig): void {
  if (config.mt5.gateway !== 'http') return;
  r.require('MT5_BRIDGE_URL', 'an http(s) URL', 'when MT5_GATEWAY=http');
  r.require('MT5_BRIDGE_KEY_ID', 'a key id', 'when MT5_GATEWAY=http');
  r.require('MT5_BRIDGE_SECRET', 'a secret', 'when MT5_GATEWAY=http');
}

/** An http account is a real one: it refuses demo signals, and the inbox must be signed. */
function requireWhatRealAccountsNeed(r: EnvReader, config: AppConfig): void {
  const { sources, hmacSecret } = config.signals;
  const when =
    config.accountsFile === undefined ? 'MT5_GATEWAY=http' : 'an account of ACCOUNTS_FILE has gateway http';
  if (sources.includes('demo'))
    r.problems.push({
      variable: 'SIGNAL_SOURCES',
      expected: `no \`demo\` source when ${when} (demo signals never trade a real account)`,
    });
  if (hmacSecret === undefined && sources.includes('inbox')) {
    r.require('SIGNALS_HMAC_SECRET', 'at least 16 characters', `when ${when} and the inbox is on`);
  }
}

/** The platform source, with either gateway, needs every PLATFORM_API_* variable. */
function requireWhatTheSourcesNeed(r: EnvReader, config: AppConfig): void {
  if (!config.signals.sources.includes('platform')) return;
  r.require('PLATFORM_API_URL', 'an http(s) URL', 'when SIGNAL_SOURCES has `platform`');
  r.require('PLATFORM_API_KEY_ID', 'a key id', 'when SIGNAL_SOURCES has `platform`');
  r.require('PLATFORM_API_SECRET', 'a secret', 'when SIGNAL_SOURCES has `platform`');
}

/**
 * service.md: alerts go to Telegram when both are set, otherwise only to the log. One of the
 * two alone is allowed, but almost certainly a mistake, so say so.
 */
function telegramPairWarnings(config: AppConfig): ConfigWarning[] {
  const { botToken, chatId } = config.telegram;
  if ((botToken === undefined) === (chatId === undefined)) return [];
  // A bot with account chats (ACCOUNTS_FILE) but no operator chat sends to those chats: no mistake.
  if (chatId === undefined && config.accounts.some((account) => account.telegram.chatId !== undefined))
    return [];
  return [
    {
      variable: botToken === undefined ? 'TELEGRAM_BOT_TOKEN' : 'TELEGRAM_CHAT_ID',
      expected: 'set together with its partner; alerts go only to the log until both are set',
    },
  ];
}

/** Each http account of ACCOUNTS_FILE names its own bridge: MT5_BRIDGE_* then configure nothing. */
function ignoredBridgeWarnings(r: EnvReader, config: AppConfig): ConfigWarning[] {
  if (config.accountsFile === undefined) return [];
  return ['MT5_BRIDGE_URL', 'MT5_BRIDGE_KEY_ID', 'MT5_BRIDGE_SECRET']
    .filter((variable) => r.raw(variable) !== undefined)
    .map((variable) => ({
      variable,
      expected:
        'unset with ACCOUNTS_FILE: it is ignored (each http account has its own `bridge` in the file)',
    }));
}

/** Names of variables whose values must never reach a log line. */
export const SECRET_VARIABLES = [
  'ADMIN_TOKEN',
  'MT5_BRIDGE_SECRET',
  'SIGNALS_HMAC_SECRET',
  'PLATFORM_API_SECRET',
  'TELEGRAM_BOT_TOKEN',
] as const;
