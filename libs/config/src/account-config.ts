import type { Sizing } from '@app/core';

export type Mt5GatewayKind = 'paper' | 'http';
export type DrawdownBaselineMode = 'start' | 'peak';
export type ApprovalMode = 'auto' | 'manual';

/** The id of the one account of a service without ACCOUNTS_FILE (and of a STATE_DIR written before accounts existed). */
export const DEFAULT_ACCOUNT_ID = 'default';

/** The channel a signal without `channel` goes to, and the one an account without `channels` listens on. */
export const DEFAULT_CHANNEL = 'default';

/**
 * Account ids and channel names: 1-64 of [A-Za-z0-9._-]. An id is also a directory name under
 * STATE_DIR/accounts/, so `.` and `..` (which would land on another account's files) are refused.
 */
export const ACCOUNT_ID_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,64}$/;
export const CHANNEL_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** An account's sizing rule: lives in the core, where orders are sized (order-sizing.ts). */
export type { Sizing } from '@app/core';

/** One account's configuration: from ACCOUNTS_FILE, or the environment for the single `default` account. */
export interface AccountConfig {
  id: string;
  gateway: Mt5GatewayKind;
  /** Used when `gateway` is `paper`. */
  paper: { balance: number };
  /** Set exactly when `gateway` is `http`. The URL may carry a path prefix (one bridge host, several terminals). */
  bridge: { url: string; keyId: string; secret: string } | undefined;
  risk: {
    drawdownCapPercent: number;
    baselineMode: DrawdownBaselineMode;
    dailyLossCapPercent: number | undefined;
    dailyResetTimezone: string;
    warnRatio: number;
    confirmReads: number;
  };
  /** The largest volume (lots) this account trades on one signal, after sizing: larger is capped. */
  maxVolume: number;
  maxOrdersPerSecond: number;
  approvalMode: ApprovalMode;
  mt5: { magic: number; timeoutMs: number; maxRetries: number };
  /** Channels whose signals this account trades. */
  channels: string[];
  sizing: Sizing;
  telegram: {
    /** Where this account's alerts go besides the operator chat; undefined: the operator chat only. */
    chatId: string | undefined;
    /** Telegram users who may command this account (besides TELEGRAM_ALLOWED_USER_IDS, who may command any). */
    allowedUserIds: number[];
  };
}

/**
 * Where one account's files live under STATE_DIR (docs/accounts.md): the account `default` keeps
 * the directory itself, as a single-account service wrote it (so an upgrade finds its halt), and
 * every other account has `accounts/<id>/`.
 */
export function accountStateDir(stateDir: string, accountId: string): string {
  return accountId === DEFAULT_ACCOUNT_ID
    ? stateDir
    : `${stateDir.replace(/\/+$/, '')}/accounts/${accountId}`;
}
