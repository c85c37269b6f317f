import { z } from 'zod';
import { CHANNEL_PATTERN, type Sizing } from './account-config';
import {
  ACCOUNT_SETTING_KEYS,
  ACCOUNT_SETTINGS,
  PAPER_BALANCE,
  type AccountSettings,
  type Setting,
} from './account-settings';
import { readSizing } from './account-sizing';
import type { Mt5GatewayKind } from './app-config';
import type { MappingReader } from './file-mapping';

/** The keys an account and `defaults` both may hold (not `id`, not `bridge`), as read, each optional. */
export interface AccountKeys {
  gateway?: Mt5GatewayKind;
  paperBalance?: number;
  /** Only the settings present (the daily cap present as `undefined`: none). */
  settings: Partial<AccountSettings>;
  channels?: string[];
  sizing?: Sizing;
  telegramChatId?: string;
  telegramAllowedUserIds?: number[];
}

export const SHARED_KEYS: readonly string[] = [
  'gateway',
  'paper',
  ...ACCOUNT_SETTING_KEYS,
  'channels',
  'sizing',
  'telegram_chat_id',
  'telegram_allowed_user_ids',
];

const unique = <T>(list: T[]): T[] => [...new Set(list)];

// The TELEGRAM_CHAT_ID format; YAML reads `-100123` as a number, which is fine: its decimal string.
const CHAT_ID = z
  .union([z.string(), z.number().int().transform(String)])
  .pipe(z.string().regex(/^(-?[0-9]+|@[A-Za-z0-9_]{5,})$/));

// Built once: a file may hold 10,000 accounts.
const GATEWAY = z.enum(['paper', 'http']);
const CHANNELS = z.array(z.string().regex(CHANNEL_PATTERN)).min(1).transform(unique);
const USER_IDS = z.array(z.number().int().positive()).transform(unique);

/** Reads the shared keys of one mapping (an account or `defaults`); unknown keys are the caller's. */
export function readAccountKeys(m: MappingReader): AccountKeys {
  const paper = m.mapping('paper', 'a mapping: { balance }');
  paper?.refuseUnknown(['balance']);
  const sizing = m.mapping('sizing', 'a mapping: { mode, value }');
  return {
    gateway: m.read('gateway', GATEWAY, '`paper` or `http`'),
    paperBalance: paper?.read('balance', PAPER_BALANCE.file, PAPER_BALANCE.expected),
    settings: readSettings(m),
    channels: m.read('channels', CHANNELS, 'a non-empty list of channel names, each 1-64 of [A-Za-z0-9._-]'),
    sizing: sizing === undefined ? undefined : readSizing(sizing),
    telegramChatId: m.read('telegram_chat_id', CHAT_ID, 'a numeric chat id or @channelname'),
    telegramAllowedUserIds: m.read(
      'telegram_allowed_user_ids',
      USER_IDS,
      'a list of Telegram user ids (positive whole numbers)',
    ),
  };
}

function readSettings(m: MappingReader): Partial<AccountSettings> {
  const settings: Partial<Record<keyof AccountSettings, unknown>> = {};
  for (const key of ACCOUNT_SETTING_KEYS) {
    if (!m.has(key)) continue;
    const setting: Setting<unknown> = ACCOUNT_SETTINGS[key];
    const result = setting.file.safeParse(m.values[key]);
    // Kept even when `undefined` (the daily cap's `null`): present, it overrides defaults and environment.
    if (result.success) settings[key] = result.data;
    else m.problem(key, setting.expected);
  }
  // Each value passed its own key's rule.
  return settings as Partial<AccountSettings>;
}
