import type { AccountConfig, ApprovalMode, DrawdownBaselineMode, Mt5GatewayKind } from './account-config';
import type { StateBackendConfig } from './state-backend-config';

export type { ApprovalMode, DrawdownBaselineMode, Mt5GatewayKind } from './account-config';

/** The service's configuration, typed. Built from the environment by `loadConfig` and validated there. */

export type SignalSourceKind = 'inbox' | 'demo' | 'platform';

export interface AppConfig {
  port: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  loopId: string;
  loopTickMs: number;
  heartbeatIntervalMs: number;
  heartbeatStaleAfterMs: number;
  stateDir: string;
  /** STATE_BACKEND: files under STATE_DIR (the default), or PostgreSQL shared by several processes. */
  stateBackend: StateBackendConfig;
  /** Defaults to false with STATE_BACKEND=postgres: a stopping process hands its accounts over instead. */
  closeOnShutdown: boolean;
  /** Undefined: generate one and write it to STATE_DIR/admin-token. */
  adminToken: string | undefined;
  /** VIEWER_TOKEN: signs in to the dashboard read-only (sees every account, cannot halt or resume). */
  viewerToken: string | undefined;
  debugFaults: boolean;

  risk: {
    equityCheckIntervalMs: number;
    drawdownCapPercent: number;
    baselineMode: DrawdownBaselineMode;
    dailyLossCapPercent: number | undefined;
    dailyResetTimezone: string;
    warnRatio: number;
    confirmReads: number;
  };

  mt5: {
    gateway: Mt5GatewayKind;
    bridgeUrl: string | undefined;
    bridgeKeyId: string | undefined;
    bridgeSecret: string | undefined;
    timeoutMs: number;
    maxRetries: number;
    magic: number;
  };

  paper: {
    balance: number;
    symbols: string[];
    seed: number;
    /** Margin level (%) under which the paper account closes positions, largest loss first. */
    stopOutLevelPercent: number;
  };

  signals: {
    sources: SignalSourceKind[];
    /** Undefined only in paper mode: generate one and write it to STATE_DIR/signals-secret. */
    hmacSecret: string | undefined;
    maxAgeMs: number;
    approvalMode: ApprovalMode;
    maxVolume: number;
    maxOrdersPerSecond: number;
    /** HOST_MAX_ORDERS_PER_SECOND: every account's orders together, a guard of the process (docs/accounts.md, Isolation). */
    hostMaxOrdersPerSecond: number;
    demoSignalsPerMinute: number;
  };

  platform: {
    apiUrl: string | undefined;
    apiKeyId: string | undefined;
    apiSecret: string | undefined;
  };

  telegram: {
    botToken: string | undefined;
    chatId: string | undefined;
    apiRoot: string;
    allowedUserIds: number[];
  };

  analytics: {
    webhookUrls: string[];
    /** HISTORY_RETENTION_DAYS: history older than this is removed (docs/history.md). */
    historyRetentionDays: number;
  };

  /** ACCOUNTS_FILE, when set. */
  accountsFile: string | undefined;
  /**
   * The accounts this process trades, at least one: those of ACCOUNTS_FILE, or the one account
   * `default` built from the environment (MT5_*, PAPER_BALANCE, the risk and trading variables).
   */
  accounts: AccountConfig[];
}
