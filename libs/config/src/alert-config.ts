import { z } from 'zod';
import type { AppConfig } from './app-config';
import { csv, httpUrl, int, type EnvReader } from './env-reader';

/**
 * Reads where the service reports to: TELEGRAM_* (alerts and commands), ANALYTICS_WEBHOOK_URLS, and
 * how long history is kept (HISTORY_RETENTION_DAYS, docs/history.md).
 */
export function readAlertConfig(r: EnvReader): Pick<AppConfig, 'telegram' | 'analytics'> {
  return {
    telegram: {
      botToken: r.optional(
        'TELEGRAM_BOT_TOKEN',
        z.string().regex(/^[0-9]+:[A-Za-z0-9_-]+$/),
        'a bot token like 123456:ABC-def',
      ),
      chatId: r.optional(
        'TELEGRAM_CHAT_ID',
        z.string().regex(/^(-?[0-9]+|@[A-Za-z0-9_]{5,})$/),
        'a numeric chat id or @channelname',
      ),
      apiRoot: r.parse('TELEGRAM_API_ROOT', httpUrl, 'https://api.telegram.org', 'an http(s) URL'),
      allowedUserIds: r.parse(
        'TELEGRAM_ALLOWED_USER_IDS',
        csv(z.string().regex(/^[0-9]+$/)).transform((list) => list.map(Number)),
        [],
        'a comma list of numeric user ids',
      ),
    },
    analytics: {
      webhookUrls: r.parse('ANALYTICS_WEBHOOK_URLS', csv(httpUrl), [], 'a comma list of http(s) URLs'),
      historyRetentionDays: r.parse(
        'HISTORY_RETENTION_DAYS',
        int(1, 3_650),
        90,
        'an integer of days, 1 to 3650',
      ),
    },
  };
}
