import { drawdownPercent } from './drawdown';
import { cloneRiskState, parseRiskState, type HaltRecord, type RiskState } from './risk-state';
import { tradingDayKey } from './trading-day';

/**
 * The drawdown rules of docs/risk.md as a pure state machine: the Nest guard feeds it equity reads
 * and the clock, persists `state()` whenever it changes, and does the I/O (close-all, alerts).
 */
export type BaselineMode = 'start' | 'peak';
export type CapKind = 'total' | 'daily';

export interface DrawdownPolicyOptions {
  /** 0 < x <= 100. Fixed for the life of the policy: there is no setter on purpose. */
  capPercent: number;
  baselineMode: BaselineMode;
  /** Optional second cap against the first equity of the trading day, 0 < x <= 100. */
  dailyLossCapPercent?: number | undefined;
  /** IANA zone whose local midnight starts the trading day. */
  dailyResetTimezone: string;
  /** 0 < x <= 1: warn once per episode when drawdown reaches this share of a cap. */
  warnRatio: number;
  /** Integer >= 1: consecutive breaching reads needed to trigger. */
  confirmReads: number;
}

export interface CapReading {
  cap: CapKind;
  drawdownPercent: number;
  capPercent: number;
}

export interface InvalidReadObservation {
  kind: 'invalid_read';
  /** What was read, for the error message. */
  equity: unknown;
}

export interface ValidReadObservation {
  kind: 'ok';
  equity: number;
  /** Against the baseline, in [0, 100]. */
  drawdownPercent: number;
  /** Against the daily anchor, in [0, 100]; null when there is no anchor for today yet. */
  dailyDrawdownPercent: number | null;
  /** Null only while no positive equity has ever been seen (then drawdownPercent is 100). */
  baselineEquity: number | null;
  /** A cap is reached on this read (also reported while halted, for status). */
  breach: CapReading | null;
  /** Set only on the read that completes confirmation; the halt is already latched when it returns. */
  trigger: CapReading | null;
  /** First warning of an episode (total cap first when both arm on the same read). */
  warning: CapReading | null;
  /** Every warning armed on this read (at most one per cap). */
  warnings: CapReading[];
  /** Consecutive breaching valid reads so far (0 while halted). */
  breachStreak: number;
  halted: boolean;
  /** Baseline, peak, daily anchor or latch changed: persist `state()`. */
  stateChanged: boolean;
}

export type Observation = InvalidReadObservation | ValidReadObservation;

export type PreTradeRefusal = 'halted' | 'invalid_equity' | 'drawdown_cap' | 'daily_cap';
export type PreTradeResult =
  { allowed: true } | { allowed: false; reason: PreTradeRefusal; drawdownPercent?: number };

export type ResumeError = {
  ok: false;
  code: 'not_halted' | 'invalid_equity' | 'reviewer_required';
  message: string;
};
export type ResumeOutcome =
  | {
      ok: true;
      state: RiskState;
      resumedHalt: HaltRecord;
      baselineEquity: number;
      reviewedBy: string;
      note: string;
    }
  | ResumeError;

/** Warnings re-arm only once drawdown is 10% of the threshold below it, so noise at the line does not spam. */
const WARN_HYSTERESIS = 0.1;

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function requireTime(now: number): void {
  if (!isFiniteNumber(now)) throw new RangeError(`time must be finite epoch ms, got ${String(now)}`);
}

function validateOptions(o: DrawdownPolicyOptions): void {
  const inPercent = (v: number): boolean => isFiniteNumber(v) && v > 0 && v <= 100;
  if (!inPercent(o.capPercent)) throw new RangeError(`capPercent must be 0 < x <= 100, got ${o.capPercent}`);
  if (o.dailyLossCapPercent !== undefined && !inPercent(o.dailyLossCapPercent)) {
    throw new RangeError(`dailyLossCapPercent must be 0 < x <= 100, got ${o.dailyLossCapPercent}`);
  }
  if (o.baselineMode !== 'start' && o.baselineMode !== 'peak')
    throw new RangeError(`baselineMode must be start or peak, got ${String(o.baselineMode)}`);
  if (!isFiniteNumber(o.warnRatio) || o.warnRatio <= 0 || o.warnRatio > 1)
    throw new RangeError(`warnRatio must be 0 < x <= 1, got ${o.warnRatio}`);
  if (!Number.isInteger(o.confirmReads) || o.confirmReads < 1)
    throw new RangeError(`confirmReads must be an integer >= 1, got ${o.confirmReads}`);
  tradingDayKey(0, o.dailyResetTimezone); // throws a RangeError for an unknown zone
}

function formatCap(reading: CapReading): string {
  return `${reading.cap} drawdown ${reading.drawdownPercent.toFixed(1)}% >= cap ${reading.capPercent}%`;
}

export class DrawdownPolicy {
  private readonly options: Readonly<DrawdownPolicyOptions>;
  private s: RiskState;
  private streak = 0;
  private readonly warned: Record<CapKind, boolean> = { total: false, daily: false };
  /** Set when the constructor adjusted restored state, so the first observation asks for a save. */
  private dirty = false;

  /**
   * `initial` comes from disk or `emptyRiskState()`. A restored halt is kept whatever the
   * configured cap. Invalid options or state are broken invariants and throw a RangeError: the
   * store should have rejected bad state with `parseRiskState` (and started halted).
   */
  constructor(options: DrawdownPolicyOptions, initial: RiskState) {
    validateOptions(options);
    this.options = Object.freeze({ ...options });
    const parsed = parseRiskState(initial);
    if (!parsed.ok) throw new RangeError(`invalid risk state: ${parsed.problem}`);
    this.s = parsed.value;
    // Restarted in peak mode after running in start mode: the high-water mark is the baseline.
    if (
      this.options.baselineMode === 'peak' &&
      this.s.peakEquity !== null &&
      this.s.baselineEquity !== null &&
      this.s.peakEquity > this.s.baselineEquity
    ) {
      this.s.baselineEquity = this.s.peakEquity;
      this.dirty = true;
    }
  }

  get capPercent(): number {
    return this.options.capPercent;
  }

  get dailyLossCapPercent(): number | undefined {
    return this.options.dailyLossCapPercent;
  }

  /** Consecutive breaching valid reads (not persisted: a restart starts confirmation over). */
  get breachStreak(): number {
    return this.streak;
  }

  isHalted(): boolean {
    return this.s.halt !== null;
  }

  halt(): HaltRecord | null {
    return this.s.halt === null ? null : { ...this.s.halt };
  }

  /** A copy for persistence. */
  state(): RiskState {
    return cloneRiskState(this.s);
  }

  /**
   * One successful equity read. A non-finite equity is an error, not a drawdown: it returns
   * `invalid_read` and changes nothing (the streak neither grows nor resets). On the read that
   * completes confirmation the halt is latched here, so no caller can open a position between
   * the trigger and its own `latchHalt`.
   */
  observe(equity: number, now: number): Observation {
    if (!isFiniteNumber(equity)) return { kind: 'invalid_read', equity };
    requireTime(now);
    let changed = this.dirty;
    this.dirty = false;
    const halted = this.s.halt !== null;

    // A baseline or anchor must be > 0; a wiped account (<= 0) is simply 100% drawdown.
    if (equity > 0) {
      if (this.s.baselineEquity === null) {
        this.s.baselineEquity = equity;
        this.s.baselineSetAt = now;
        this.s.peakEquity = equity;
        changed = true;
      } else if (!halted && (this.s.peakEquity === null || equity > this.s.peakEquity)) {
        // Frozen while halted: the drawdown that halted us stays measured against the same reference.
        this.s.peakEquity = equity;
        if (this.options.baselineMode === 'peak' && equity > this.s.baselineEquity)
          this.s.baselineEquity = equity;
        changed = true;
      }
    }
    const day = tradingDayKey(now, this.options.dailyResetTimezone);
    // A new day only moves the anchor; it never touches the latch.
    if (equity > 0 && (this.s.daily === null || this.s.daily.day !== day)) {
      this.s.daily = { day, anchorEquity: equity };
      changed = true;
    }

    const total = this.s.baselineEquity === null ? 100 : drawdownPercent(this.s.baselineEquity, equity);
    const anchor = this.s.daily !== null && this.s.daily.day === day ? this.s.daily.anchorEquity : null;
    const daily = equity <= 0 ? 100 : anchor === null ? null : drawdownPercent(anchor, equity);
    const breach = this.breachOf(total, daily);

    let trigger: CapReading | null = null;
    const warnings: CapReading[] = [];
    if (halted) {
      this.streak = 0;
    } else {
      this.streak = breach === null ? 0 : this.streak + 1;
      if (breach !== null && this.streak >= this.options.confirmReads) {
        trigger = breach;
        this.latch({
          id: `${breach.cap === 'daily' ? 'daily_cap' : 'drawdown_cap'}-${now}`,
          reason: formatCap(breach),
          source: breach.cap === 'daily' ? 'daily_cap' : 'drawdown_cap',
          at: now,
          drawdownPercent: breach.drawdownPercent,
          capPercent: breach.capPercent,
        });
        changed = true;
        // The trigger alert says it all; no separate warning for this episode.
        this.warned.total = true;
        this.warned.daily = true;
      } else {
        this.updateWarning('total', total, this.options.capPercent, warnings);
        if (this.options.dailyLossCapPercent !== undefined && daily !== null)
          this.updateWarning('daily', daily, this.options.dailyLossCapPercent, warnings);
      }
    }

    return {
      kind: 'ok',
      equity,
      drawdownPercent: total,
      dailyDrawdownPercent: daily,
      baselineEquity: this.s.baselineEquity,
      breach,
      trigger,
      warning: warnings[0] ?? null,
      warnings,
      breachStreak: this.streak,
      halted: this.s.halt !== null,
      stateChanged: changed,
    };
  }

  /**
   * Before every order. Refuses while halted, on a non-finite equity, and on the FIRST breaching
   * read (no confirmation). Read-only: it never moves baselines, anchors, streaks or warnings, so
   * calling it any number of times changes no later decision. The caller also feeds the read to
   * `observe` if it wants it to count towards confirmation.
   */
  preTradeCheck(equity: number, now: number): PreTradeResult {
    if (this.s.halt !== null) return { allowed: false, reason: 'halted' };
    if (!isFiniteNumber(equity)) return { allowed: false, reason: 'invalid_equity' };
    requireTime(now);
    // No baseline or anchor yet: this equity would become it, so only a wiped account breaches.
    const total =
      equity <= 0 ? 100 : this.s.baselineEquity === null ? 0 : drawdownPercent(this.s.baselineEquity, equity);
    if (total >= this.options.capPercent)
      return { allowed: false, reason: 'drawdown_cap', drawdownPercent: total };
    const dailyCap = this.options.dailyLossCapPercent;
    if (dailyCap !== undefined) {
      const day = tradingDayKey(now, this.options.dailyResetTimezone);
      const anchor = this.s.daily !== null && this.s.daily.day === day ? this.s.daily.anchorEquity : null;
      const daily = equity <= 0 ? 100 : anchor === null ? 0 : drawdownPercent(anchor, equity);
      if (daily >= dailyCap) return { allowed: false, reason: 'daily_cap', drawdownPercent: daily };
    }
    return { allowed: true };
  }

  /** Latch a halt (manual, untrusted state, or the guard's own record). Idempotent: the first record wins. */
  latchHalt(record: HaltRecord): RiskState {
    if (this.s.halt === null) {
      if (typeof record.id !== 'string' || record.id.length === 0 || !isFiniteNumber(record.at)) {
        throw new RangeError('a halt record needs a non-empty id and a finite time');
      }
      this.latch({ ...record });
    }
    return this.state();
  }

  /**
   * A person resumes: clears the latch and re-baselines everything to this equity (start and
   * peak, and today's daily anchor); streaks and warning episodes start over.
   */
  resume(equity: number, now: number, reviewedBy: string, note: string): ResumeOutcome {
    const planned = this.planResume(equity, now, reviewedBy, note);
    if (planned.ok) this.commitResume(planned);
    return planned;
  }

  /**
   * The resume, without doing it: the state it would leave. The guard persists that state first
   * and commits only once it is durable, so the latch never lifts on a resume the disk lost.
   */
  planResume(equity: number, now: number, reviewedBy: string, note: string): ResumeOutcome {
    const halt = this.s.halt;
    if (halt === null) return { ok: false, code: 'not_halted', message: 'trading is not halted' };
    if (reviewedBy.trim().length === 0)
      return { ok: false, code: 'reviewer_required', message: 'reviewed_by is required to resume' };
    if (!isFiniteNumber(equity) || equity <= 0) {
      return {
        ok: false,
        code: 'invalid_equity',
        message: `cannot re-baseline to equity ${String(equity)}: it must be a finite number > 0`,
      };
    }
    requireTime(now);
    const state: RiskState = {
      baselineEquity: equity,
      baselineSetAt: now,
      peakEquity: equity,
      daily: { day: tradingDayKey(now, this.options.dailyResetTimezone), anchorEquity: equity },
      halt: null,
    };
    return { ok: true, state, resumedHalt: { ...halt }, baselineEquity: equity, reviewedBy, note };
  }

  /** Applies a planned resume, unless the halt it resumes is no longer the one latched. */
  commitResume(planned: Extract<ResumeOutcome, { ok: true }>): boolean {
    if (this.s.halt?.id !== planned.resumedHalt.id) return false;
    this.s = cloneRiskState(planned.state);
    this.streak = 0;
    this.warned.total = false;
    this.warned.daily = false;
    this.dirty = false;
    return true;
  }

  /** Records how far the halt sequence got (the latched halt's progress fields). */
  updateHalt(halt: HaltRecord): void {
    if (this.s.halt?.id === halt.id) this.s.halt = { ...halt };
  }

  private latch(record: HaltRecord): void {
    this.s.halt = record;
    this.streak = 0;
  }

  private breachOf(total: number, daily: number | null): CapReading | null {
    if (total >= this.options.capPercent)
      return { cap: 'total', drawdownPercent: total, capPercent: this.options.capPercent };
    const dailyCap = this.options.dailyLossCapPercent;
    if (dailyCap !== undefined && daily !== null && daily >= dailyCap)
      return { cap: 'daily', drawdownPercent: daily, capPercent: dailyCap };
    return null;
  }

  private updateWarning(cap: CapKind, drawdown: number, capPercent: number, out: CapReading[]): void {
    const threshold = this.options.warnRatio * capPercent;
    if (drawdown >= threshold) {
      if (!this.warned[cap]) {
        this.warned[cap] = true;
        out.push({ cap, drawdownPercent: drawdown, capPercent });
      }
    } else if (drawdown < threshold * (1 - WARN_HYSTERESIS)) {
      this.warned[cap] = false;
    }
  }
}
