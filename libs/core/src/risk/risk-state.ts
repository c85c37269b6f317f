/**
 * The drawdown guard's durable state: baselines, daily anchor and the halt latch in ONE record,
 * so a single atomic write persists them together (a crash can never keep a new baseline and
 * lose the latch, or the reverse). Plain JSON: numbers, strings and nulls only.
 */
export type HaltSource = 'drawdown_cap' | 'daily_cap' | 'manual' | 'untrusted_state';

export const HALT_SOURCES: readonly HaltSource[] = ['drawdown_cap', 'daily_cap', 'manual', 'untrusted_state'];

export interface HaltRecord {
  id: string;
  reason: string;
  source: HaltSource;
  /** Epoch ms when the latch was set. */
  at: number;
  drawdownPercent: number | null;
  capPercent: number | null;
  /**
   * How far the halt sequence got (docs/risk.md, Trigger), so a restart continues it instead of
   * starting over or forgetting a step: when the halt was audited and announced (`halted`), and
   * when its trigger was reported after the first pass of closing. Absent in state written
   * before they existed: then both steps are taken as done.
   */
  announcedAt?: number | null;
  reportedAt?: number | null;
}

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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveOrNull(value: unknown): value is number | null {
  return value === null || (typeof value === 'number' && Number.isFinite(value) && value > 0);
}

function finiteOrNull(value: unknown): value is number | null {
  return value === null || (typeof value === 'number' && Number.isFinite(value));
}

function parseHalt(value: unknown): HaltRecord | string {
  if (!isRecord(value)) return 'halt is not an object';
  const { id, reason, source, at, drawdownPercent, capPercent, announcedAt, reportedAt } = value;
  if (typeof id !== 'string' || id.length === 0) return 'halt.id is not a non-empty string';
  if (typeof reason !== 'string') return 'halt.reason is not a string';
  if (typeof source !== 'string' || !(HALT_SOURCES as readonly string[]).includes(source))
    return `halt.source ${String(source)} is unknown`;
  if (typeof at !== 'number' || !Number.isFinite(at)) return 'halt.at is not a finite number';
  if (!finiteOrNull(drawdownPercent)) return 'halt.drawdownPercent is not a finite number or null';
  if (!finiteOrNull(capPercent)) return 'halt.capPercent is not a finite number or null';
  if (announcedAt !== undefined && !finiteOrNull(announcedAt))
    return 'halt.announcedAt is not a finite number or null';
  if (reportedAt !== undefined && !finiteOrNull(reportedAt))
    return 'halt.reportedAt is not a finite number or null';
  const record: HaltRecord = { id, reason, source: source as HaltSource, at, drawdownPercent, capPercent };
  if (announcedAt !== undefined) record.announcedAt = announcedAt;
  if (reportedAt !== undefined) record.reportedAt = reportedAt;
  return record;
}

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
    const h = parseHalt(halt);
    if (typeof h === 'string') return { ok: false, problem: h };
    parsedHalt = h;
  }
  return {
    ok: true,
    value: { baselineEquity, baselineSetAt, peakEquity, daily: parsedDaily, halt: parsedHalt },
  };
}
