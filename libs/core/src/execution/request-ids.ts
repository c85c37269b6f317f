import { createHash } from 'node:crypto';

/**
 * Deterministic request ids: the same order always gets the same id, so a retry, a restart or a
 * replay is deduplicated by the broker bridge. The id is also written into the MT5 order
 * `comment`, which holds at most 26 characters, so ids are a prefix plus a hash: 'o-' + 22 hex
 * characters = 24 characters (88 bits).
 */
const digest = (parts: readonly (string | number)[]): string =>
  createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 22);

/** Opening the position of a buy/sell signal. */
export const openRequestId = (signalId: string): string => `o-${digest(['open', signalId])}`;

/** Closing one position on behalf of a `close` signal. */
export const signalCloseRequestId = (signalId: string, ticket: number): string =>
  `c-${digest(['close', signalId, ticket])}`;

/** Closing one position during a halt (cap trigger, manual halt) or a graceful stop. */
export const haltCloseRequestId = (haltId: string, ticket: number, round = 0): string =>
  `h-${digest(['halt', haltId, ticket, round])}`;

export const MAX_COMMENT_LENGTH = 26;
