import { z } from 'zod';
import { parseSignalBody, type FieldError, type TradeSignal } from '@app/core';

/**
 * The approvals platform's answer (docs/platform-approvals.openapi.yaml), validated in two steps:
 * the envelope (`{"signals":[...]}`) must fit or the whole poll failed; each signal is then checked
 * on its own, so one bad signal is skipped without losing the good ones beside it.
 */
export const pendingApprovalsSchema = z.object({ signals: z.array(z.unknown()).max(10_000) });

/** Fields a platform signal may carry; others (the platform may add some) are ignored, not refused. */
const SIGNAL_FIELDS = [
  'id',
  'instrument',
  'side',
  'volume',
  'sl',
  'tp',
  'created_at',
  // Where it goes (docs/accounts.md): a channel, or the accounts whose users approved it.
  'channel',
  'accounts',
] as const;

const approvedAtSchema = z.iso.datetime({ offset: true });

export type PlatformSignalParse =
  { ok: true; signal: TradeSignal } | { ok: false; id: string | undefined; errors: FieldError[] };

/**
 * One platform signal into a TradeSignal. The signal rules are the inbox's (`parseSignalBody`);
 * the platform adds `approved_at`, and requires `created_at`, because approval time is
 * `approved_at - created_at`.
 */
export function parsePlatformSignal(
  raw: unknown,
  maxVolume: number,
  receivedAtMs: number,
): PlatformSignalParse {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, id: undefined, errors: [{ field: 'signal', message: 'must be an object' }] };
  const record = raw as Record<string, unknown>;
  const id = typeof record.id === 'string' ? record.id : undefined;
  const picked: Record<string, unknown> = {};
  for (const field of SIGNAL_FIELDS) if (record[field] !== undefined) picked[field] = record[field];

  const errors: FieldError[] = [];
  const parsed = parseSignalBody(picked, maxVolume, receivedAtMs, 'platform');
  if (!parsed.ok) errors.push(...parsed.errors);
  if (record.created_at === undefined)
    errors.push({ field: 'created_at', message: 'required from the platform' });
  const approvedAt = approvedAtSchema.safeParse(record.approved_at);
  if (!approvedAt.success)
    errors.push({
      field: 'approved_at',
      message: 'an ISO-8601 date-time with zone, e.g. 2026-11-24T10:00:05.000Z',
    });
  if (!parsed.ok || errors.length > 0 || !approvedAt.success) return { ok: false, id, errors };
  return { ok: true, signal: { ...parsed.signal, approvedAtMs: Date.parse(approvedAt.data) } };
}
