import { z } from 'zod';
import { DEAL_REASONS } from '@app/core';

/**
 * Shapes of the bridge's 200 answers (docs/mt5-bridge.md). Every answer is checked before anything
 * acts on it: a body that does not fit is an `invalid_response`, never a guessed fill.
 * Unknown extra fields are tolerated (stripped), so a bridge may add fields without breaking us.
 */
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const nonNegativeInt = z.number().int().nonnegative();

export const healthSchema = z.object({ connected: z.boolean() });

export const accountSchema = z.object({
  login: z.number().int(),
  currency: z.string().min(1),
  balance: finite,
  equity: finite,
  margin: finite,
  margin_free: finite,
  server_time: z.string(),
});

export const positionSchema = z.object({
  ticket: z.number().int().positive(),
  symbol: z.string().min(1),
  type: z.enum(['buy', 'sell']),
  volume: finite.pipe(z.number().positive()),
  price_open: finite,
  price_current: finite,
  sl: finite,
  tp: finite,
  profit: finite,
  magic: nonNegativeInt,
  comment: z.string(),
  time: z.string(),
});

export const positionsSchema = z.object({ positions: z.array(positionSchema) });

export const tradeResultSchema = z.object({
  request_id: z.string().min(1),
  retcode: z.number().int(),
  order: nonNegativeInt,
  deal: nonNegativeInt,
  position: nonNegativeInt,
  volume: finite.pipe(z.number().nonnegative()),
  price: finite.pipe(z.number().nonnegative()),
  comment: z.string(),
});

export const dealSchema = z.object({
  ticket: z.number().int().positive(),
  order: nonNegativeInt,
  position: nonNegativeInt,
  symbol: z.string().min(1),
  type: z.enum(['buy', 'sell']),
  entry: z.enum(['in', 'out']),
  volume: finite.pipe(z.number().nonnegative()),
  price: finite.pipe(z.number().nonnegative()),
  profit: finite,
  reason: z.enum(DEAL_REASONS),
  magic: nonNegativeInt,
  comment: z.string(),
  time: z.string(),
});

export const dealsSchema = z.object({ deals: z.array(dealSchema) });

const positiveFinite = finite.pipe(z.number().positive());

export const symbolInfoSchema = z.object({
  symbol: z.string().min(1),
  digits: nonNegativeInt,
  contract_size: positiveFinite,
  tick_size: positiveFinite,
  tick_value: positiveFinite,
  volume_min: positiveFinite,
  volume_max: positiveFinite,
  volume_step: positiveFinite,
  bid: finite.pipe(z.number().nonnegative()),
  ask: finite.pipe(z.number().nonnegative()),
});

export const errorBodySchema = z.object({ error: z.string(), message: z.string().optional() });
