import { z } from 'zod';
import { MAX_SIGNAL_ACCOUNTS, type TradeSignal } from './trade-signal';

/** One rule a signal body broke, by field (`body` when the whole body is wrong). */
export interface FieldError {
  field: string;
  message: string;
}

export type SignalParseResult = { ok: true; signal: TradeSignal } | { ok: false; errors: FieldError[] };

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * An ISO-8601 date-time with zone naming a day that exists: Date.parse alone rolls
 * 2026-02-30 over to 2 March instead of refusing it.
 */
function isIsoDateTime(value: string): boolean {
  const match = ISO_8601.exec(value);
  if (match === null || !Number.isFinite(Date.parse(value))) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth;
}

const positive = z.number().finite().positive();
/** Account ids and channel names (docs/accounts.md). */
const ACCOUNT_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The inbox body (docs/service.md, Signal inbox). Strict: unknown fields are refused, not ignored.
 * The volume rule depends on `side`, so it is a refinement of the whole body; `when` runs it even
 * when other fields are already wrong, so one answer names every offending field.
 */
const signalBody = (maxVolume: number) =>
  z
    .strictObject({
      id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, '1-64 of [A-Za-z0-9._:-]'),
      instrument: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, '1-32 of [A-Za-z0-9._-]'),
      side: z.enum(['buy', 'sell', 'close']),
      // Checked below: its rule depends on `side` (ignored for close, whatever it holds).
      volume: z.unknown().optional(),
      sl: positive.nullable().optional(),
      tp: positive.nullable().optional(),
      created_at: z
        .string()
        .refine(isIsoDateTime, 'an ISO-8601 date-time with zone, e.g. 2026-11-24T10:00:00.000Z')
        .optional(),
      channel: z.string().regex(ACCOUNT_NAME, '1-64 of [A-Za-z0-9._-]').optional(),
      accounts: z
        .array(z.string().regex(ACCOUNT_NAME, 'account ids: 1-64 of [A-Za-z0-9._-]'))
        .min(1, `1 to ${MAX_SIGNAL_ACCOUNTS} account ids`)
        .max(MAX_SIGNAL_ACCOUNTS, `1 to ${MAX_SIGNAL_ACCOUNTS} account ids`)
        .optional(),
    })
    .check(
      z.superRefine(
        (body, ctx) => {
          if (body.side === 'close') return; // volume is ignored for close
          const { volume } = body;
          if (volume === undefined) {
            ctx.addIssue({ code: 'custom', path: ['volume'], message: 'required for buy and sell' });
          } else if (typeof volume !== 'number' || !(volume > 0 && volume <= maxVolume)) {
            ctx.addIssue({
              code: 'custom',
              path: ['volume'],
              message: `must be > 0 and <= MAX_VOLUME (${maxVolume})`,
            });
          }
        },
        {
          when: (payload) =>
            typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
        },
      ),
      z.superRefine(
        (body, ctx) => {
          if (body.channel !== undefined && body.accounts !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: ['accounts'],
              message: 'either `channel` or `accounts`, not both',
            });
        },
        {
          when: (payload) =>
            typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
        },
      ),
    );

/**
 * Validate a parsed JSON body into a signal, naming every offending field.
 * `receivedAtMs` starts the latency clock when the body carries no `created_at`.
 */
/** Schemas are built once per MAX_VOLUME: building one costs far more than using it. */
const schemaCache = new Map<number, ReturnType<typeof signalBody>>();

function schemaFor(maxVolume: number): ReturnType<typeof signalBody> {
  let schema = schemaCache.get(maxVolume);
  if (schema === undefined) {
    schema = signalBody(maxVolume);
    schemaCache.set(maxVolume, schema);
  }
  return schema;
}

export function parseSignalBody(
  body: unknown,
  maxVolume: number,
  receivedAtMs: number,
  source: string,
): SignalParseResult {
  const result = schemaFor(maxVolume).safeParse(body);
  if (!result.success) {
    const errors: FieldError[] = [];
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) errors.push({ field: key, message: 'unknown field' });
      } else {
        errors.push({ field: issue.path.length > 0 ? issue.path.join('.') : 'body', message: issue.message });
      }
    }
    return { ok: false, errors };
  }
  const b = result.data;
  const signal: TradeSignal = {
    id: b.id,
    instrument: b.instrument,
    side: b.side,
    // The refinement proved it a number in range for buy and sell.
    volume: b.side === 'close' || typeof b.volume !== 'number' ? 0 : b.volume,
    createdAtMs: b.created_at === undefined ? receivedAtMs : Date.parse(b.created_at),
    receivedAtMs,
    source,
  };
  if (b.sl !== undefined && b.sl !== null) signal.sl = b.sl;
  if (b.tp !== undefined && b.tp !== null) signal.tp = b.tp;
  if (b.channel !== undefined) signal.channel = b.channel;
  if (b.accounts !== undefined) signal.accounts = [...new Set(b.accounts)];
  return { ok: true, signal };
}
