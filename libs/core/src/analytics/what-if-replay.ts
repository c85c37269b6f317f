import type { HistoryWindow } from '../history/history-store.port';
import { roundMoney, roundPercent } from '../numbers/output-precision';
import { drawdownPercent } from '../risk/drawdown';
import type { BaselineMode } from '../risk/drawdown-policy';

/**
 * "How often would a cap of X % have triggered, and what would it have cost?"
 * (docs/history.md, What if). A window's equity path is replayed against each
 * hypothetical cap:
 *
 * - Baseline, shared by every cap: `start` is the first positive equity in the window, `peak`
 *   the running peak since then. A real resume re-baselines both to the equity it resumed at
 *   (or, when that is unknown, to the next positive sample), as it did in reality.
 * - Trigger: drawdown from the baseline at or over the cap (equality triggers, as in the real
 *   guard's `>=`). One read is enough: the replay ignores DRAWDOWN_CONFIRM_READS, which only
 *   delays a real trigger by a read or two.
 * - Latch: a triggered cap stays triggered until the next real resume or the window's end. A
 *   resume when a cap is not latched only re-baselines.
 * - Trades missed: signals that arrived while a cap's latch held, traded in reality or not.
 *
 * Ties at the same millisecond are taken as resume, then equity read, then signal: a resume
 * re-baselines before the read at its instant, and a signal at the instant of a breaching read
 * would have been refused by the pre-trade check.
 *
 * Equity at or below zero is a 100 % drawdown (a wiped account), even before any baseline.
 * Inputs outside the window (`from` included, `to` excluded) and non-finite values are ignored.
 * The replay keeps no per-read state: memory is one record per cap, whatever the window's size.
 */
export interface WhatIfOptions {
  /** Each 0 < x <= 100; answered in the order given. */
  capsPercent: readonly number[];
  baseline: BaselineMode;
  window: HistoryWindow;
}

export interface WhatIfCapOutcome {
  cap_percent: number;
  triggers: number;
  /** ISO-8601, or null when the cap never triggered. */
  first_trigger_at: string | null;
  trades_missed: number;
  equity_at_first_trigger: number | null;
}

export interface WhatIfReplayResult {
  baseline: BaselineMode;
  /** The window, ISO-8601. */
  from: string;
  to: string;
  /** Equity reads and signal arrivals replayed (inside the window). */
  samples: number;
  signals: number;
  /** The deepest drawdown against the chosen baseline; null without a sample. */
  worst_drawdown_percent: number | null;
  caps: WhatIfCapOutcome[];
}

export interface EquityPoint {
  at: number;
  equity: number;
}

export interface WhatIfResume {
  at: number;
  /** The equity the real resume re-baselined to (`resumed.baseline_equity`); absent or null: the next read. */
  baselineEquity?: number | null;
}

export interface WhatIfInput extends WhatIfOptions {
  equity: readonly EquityPoint[];
  /** When each signal arrived (epoch ms). */
  signals: readonly number[];
  resumes: readonly WhatIfResume[];
}

/** A cap the replay accepts: like DRAWDOWN_CAP_PERCENT, 0 < x <= 100. */
export function isValidCapPercent(cap: number): boolean {
  return Number.isFinite(cap) && cap > 0 && cap <= 100;
}

interface CapState {
  cap: number;
  latched: boolean;
  triggers: number;
  firstAt: number | null;
  firstEquity: number | null;
  missed: number;
}

/**
 * The replay as a fold, fed oldest first: history is read a page at a time, so a long window
 * never needs to be held in memory. `replayWhatIf` is the same over arrays.
 */
export class WhatIfReplay {
  readonly baselineMode: BaselineMode;
  readonly window: Readonly<HistoryWindow>;
  private readonly caps: CapState[];
  private baseline: number | null = null;
  private worst: number | null = null;
  private sampleCount = 0;
  private signalCount = 0;

  /** Invalid caps or window are a caller's bug (the endpoint validates its query first): RangeError. */
  constructor(options: WhatIfOptions) {
    for (const cap of options.capsPercent) {
      if (!isValidCapPercent(cap)) throw new RangeError(`a cap must be 0 < x <= 100, got ${cap}`);
    }
    if (options.baseline !== 'start' && options.baseline !== 'peak') {
      throw new RangeError(`baseline must be start or peak, got ${String(options.baseline)}`);
    }
    const { from, to } = options.window;
    if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
      throw new RangeError(`the window must have finite from < to, got ${from}..${to}`);
    }
    this.baselineMode = options.baseline;
    this.window = { from, to };
    this.caps = options.capsPercent.map((cap) => ({
      cap,
      latched: false,
      triggers: 0,
      firstAt: null,
      firstEquity: null,
      missed: 0,
    }));
  }

  /** One equity read. False (and ignored) outside the window or when not finite. */
  equity(at: number, equity: number): boolean {
    if (!this.inWindow(at) || !Number.isFinite(equity)) return false;
    this.sampleCount += 1;
    if (equity > 0 && (this.baseline === null || (this.baselineMode === 'peak' && equity > this.baseline))) {
      this.baseline = equity;
    }
    const drawdown = this.baseline === null ? 100 : drawdownPercent(this.baseline, equity);
    if (this.worst === null || drawdown > this.worst) this.worst = drawdown;
    for (const state of this.caps) {
      if (state.latched || drawdown < state.cap) continue;
      state.latched = true;
      state.triggers += 1;
      if (state.firstAt === null) {
        state.firstAt = at;
        state.firstEquity = equity;
      }
    }
    return true;
  }

  /** One signal arrival. False (and ignored) outside the window. */
  signal(at: number): boolean {
    if (!this.inWindow(at)) return false;
    this.signalCount += 1;
    for (const state of this.caps) if (state.latched) state.missed += 1;
    return true;
  }

  /** A real resume: every latch lifts and the baseline moves to the resume's equity. */
  resume(at: number, baselineEquity: number | null = null): boolean {
    if (!this.inWindow(at)) return false;
    for (const state of this.caps) state.latched = false;
    const known = baselineEquity !== null && Number.isFinite(baselineEquity) && baselineEquity > 0;
    this.baseline = known ? baselineEquity : null;
    return true;
  }

  result(): WhatIfReplayResult {
    return {
      baseline: this.baselineMode,
      from: new Date(this.window.from).toISOString(),
      to: new Date(this.window.to).toISOString(),
      samples: this.sampleCount,
      signals: this.signalCount,
      worst_drawdown_percent: this.worst === null ? null : roundPercent(this.worst),
      caps: this.caps.map((s) => ({
        cap_percent: s.cap,
        triggers: s.triggers,
        first_trigger_at: s.firstAt === null ? null : new Date(s.firstAt).toISOString(),
        trades_missed: s.missed,
        equity_at_first_trigger: s.firstEquity === null ? null : roundMoney(s.firstEquity),
      })),
    };
  }

  private inWindow(at: number): boolean {
    return Number.isFinite(at) && at >= this.window.from && at < this.window.to;
  }
}

/** Order of inputs at the same millisecond (see the file comment). */
const TIE_ORDER = { resume: 0, equity: 1, signal: 2 } as const;

type Step =
  | { kind: 'resume'; at: number; baselineEquity: number | null }
  | { kind: 'equity'; at: number; equity: number }
  | { kind: 'signal'; at: number };

/** Replays a window given as arrays (each need not be sorted: they are merged by time). */
export function replayWhatIf(input: WhatIfInput): WhatIfReplayResult {
  const replay = new WhatIfReplay(input);
  const steps: Step[] = [
    ...input.resumes.map((r): Step => ({
      kind: 'resume',
      at: r.at,
      baselineEquity: r.baselineEquity ?? null,
    })),
    ...input.equity.map((p): Step => ({ kind: 'equity', at: p.at, equity: p.equity })),
    ...input.signals.map((at): Step => ({ kind: 'signal', at })),
  ].filter((step) => Number.isFinite(step.at)); // NaN would break the sort's ordering
  steps.sort((a, b) => a.at - b.at || TIE_ORDER[a.kind] - TIE_ORDER[b.kind]);
  for (const step of steps) {
    if (step.kind === 'resume') replay.resume(step.at, step.baselineEquity);
    else if (step.kind === 'equity') replay.equity(step.at, step.equity);
    else replay.signal(step.at);
  }
  return replay.result();
}
