import { finiteOrNull, isRecord } from './stored-values';

/**
 * The halt latch (docs/risk.md, Latch). A halt (a cap trigger, the daily cap, a person, or state
 * that cannot be trusted) latches the account: from the moment its record is written (fsync,
 * before anything else) no new position opens, by any path, until a person resumes. It survives
 * crashes and restarts; a restart with another cap, or a new trading day, does not clear it; only
 * a reviewed resume does (DrawdownPolicy.planResume/commitResume, DrawdownGuard.resume), and the
 * first record latched wins (DrawdownPolicy.latchHalt). The record is kept in the risk state
 * (risk-state.ts) with the baselines, so one atomic write persists both. What follows the latch is
 * the halt sequence (halt-sequence.ts), whose progress the record carries.
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
  /**
   * `all`: latched by the platform kill switch (`POST /api/v1/halt` with `scope: all`), so a
   * `scope: all` resume may lift it; any other halt needs its own review (docs/accounts.md).
   */
  scope?: 'all';
}

/** Checks a halt record read from disk; returns what is wrong as a string. */
export function parseHaltRecord(value: unknown): HaltRecord | string {
  if (!isRecord(value)) return 'halt is not an object';
  const { id, reason, source, at, drawdownPercent, capPercent, announcedAt, reportedAt, scope } = value;
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
  if (scope !== undefined && scope !== 'all') return `halt.scope ${JSON.stringify(scope)} is unknown`;
  const record: HaltRecord = { id, reason, source: source as HaltSource, at, drawdownPercent, capPercent };
  if (announcedAt !== undefined) record.announcedAt = announcedAt;
  if (reportedAt !== undefined) record.reportedAt = reportedAt;
  if (scope === 'all') record.scope = 'all';
  return record;
}
