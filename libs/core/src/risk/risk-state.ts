import { parseHaltRecord, type HaltRecord } from './halt-latch';
import { finiteOrNull, isRecord, positiveOrNull } from './stored-values';

export type { HaltRecord, HaltSource } from './halt-latch';
export { HALT_SOURCES } from './halt-latch';

/**
 * The drawdown guard's durable state: baselines, daily anchor and the halt latch in ONE record,
 * so a single atomic write persists them together (a crash can never keep a new baseline and
 * lose the latch, or the reverse). Plain JSON: numbers, strings and nulls only.
 */
export interface DailyAnchor {
  /** Trading day key in DAILY_RESET_TIMEZONE ('2026-11-24'). */
  day: string;
  /** First equity seen that day (> 0). */
  anchorEquity: number;
}

export interface RiskState {
  /** Reference for drawdown (> 0): start equity, or the high-water mark in peak mode. */
  baselineEquity: number | null;
  /** Epoch ms when the baseline was set (start of trading, or the last resume). */
  baselineSetAt: number | null;
  /** Highest equity seen since `baselineSetAt` while running (kept in both modes). */
  peakEquity: number | null;
  daily: DailyAnchor | null;
  halt: HaltRecord | null;
}

export function emptyRiskState(): RiskState {
  return { baselineEquity: null, baselineSetAt: null, peakEquity: null, daily: null, halt: null };
}

export function cloneRiskState(state: RiskState): RiskState {
  return {
    baselineEquity: state.baselineEquity,
    baselineSetAt: state.baselineSetAt,
    peakEquity: state.peakEquity,
    daily: state.daily === null ? null : { ...state.daily },
    halt: state.halt === null ? null : { ...state.halt },
  };
}

export type RiskStateParse = { ok: true; value: RiskState } | { ok: false; problem: string };

const DAY_KEY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Checks state read from disk (the checksum proves the bytes, this proves the meaning). The store
 * should report a failure as damaged state, so the service starts halted instead of running.
 */
export function parseRiskState(value: unknown): RiskStateParse {
  if (!isRecord(value)) return { ok: false, problem: 'risk state is not an object' };
  const { baselineEquity, baselineSetAt, peakEquity, daily, halt } = value;
  if (!positiveOrNull(baselineEquity))
    return { ok: false, problem: 'baselineEquity is not a positive number or null' };
  if (!finiteOrNull(baselineSetAt))
    return { ok: false, problem: 'baselineSetAt is not a finite number or null' };
  if (!positiveOrNull(peakEquity))
    return { ok: false, problem: 'peakEquity is not a positive number or null' };
  if ((baselineEquity === null) !== (baselineSetAt === null))
    return { ok: false, problem: 'baselineEquity and baselineSetAt must be set together' };
  let parsedDaily: DailyAnchor | null = null;
  if (daily !== null) {
    if (!isRecord(daily)) return { ok: false, problem: 'daily is not an object or null' };
    if (typeof daily.day !== 'string' || !DAY_KEY.test(daily.day))
      return { ok: false, problem: 'daily.day is not a YYYY-MM-DD key' };
    if (
      typeof daily.anchorEquity !== 'number' ||
      !Number.isFinite(daily.anchorEquity) ||
      daily.anchorEquity <= 0
    ) {
      return { ok: false, problem: 'daily.anchorEquity is not a positive number' };
    }
    parsedDaily = { day: daily.day, anchorEquity: daily.anchorEquity };
  }
  let parsedHalt: HaltRecord | null = null;
  if (halt !== null) {
    const h = parseHaltRecord(halt);
    if (typeof h === 'string') return { ok: false, problem: h };
    parsedHalt = h;
  }
  return {
    ok: true,
    value: { baselineEquity, baselineSetAt, peakEquity, daily: parsedDaily, halt: parsedHalt },
  };
}
