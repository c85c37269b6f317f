import { roundTo, type InstrumentSpec } from './instruments';
import { SeededRandom } from './seeded-random';

export interface Quote {
  bid: number;
  ask: number;
}

/** Everything needed to continue a walk after a restart (JSON-serialisable). */
export interface PriceWalkState {
  mid: number;
  rng: number;
  /** Index of the last step taken (`floor(now / stepMs)`); null until the walk first sees the clock. */
  lastStep: number | null;
  /**
   * Shocks since the last step; absent: none. Orders two states of one step, as a restart that
   * meets both must keep the newer (see `PaperMarket.catchUp`).
   */
  shocks?: number;
}

export interface PriceWalkOptions {
  /** Simulated time per step. */
  stepMs: number;
  /** Most steps one call walks; see `advanceTo`. */
  maxCatchUpSteps: number;
}

export const DEFAULT_WALK_OPTIONS: PriceWalkOptions = { stepMs: 1000, maxCatchUpSteps: 3600 };

export interface AdvanceOutcome {
  stepped: number;
  /** Steps not walked because the gap exceeded `maxCatchUpSteps`. */
  skipped: number;
}

/**
 * A seeded geometric random walk of one symbol's mid price, one step per `stepMs` of the time
 * passed in (it never reads a clock). Multiplicative steps keep the price positive.
 *
 * The walk is anchored at the first time it sees: the price at a given time depends on the
 * seed, the symbol and that anchor, and the same sequence of calls gives the same prices.
 * Splitting a gap into several calls gives the same prices as one call, as long as no call
 * needs more than `maxCatchUpSteps` steps: a longer gap (a laptop asleep, a restart after a
 * day) walks that many steps and jumps the rest, so one call never burns the CPU.
 */
export class PriceWalk {
  private readonly rng: SeededRandom;
  private mid: number;
  private lastStep: number | null;
  private shocks = 0;
  private quoted: Readonly<Quote> | undefined;
  private quotedMid = 0;

  constructor(
    readonly spec: InstrumentSpec,
    seed: number,
    private readonly options: PriceWalkOptions = DEFAULT_WALK_OPTIONS,
    state?: PriceWalkState,
  ) {
    if (!(options.stepMs > 0) || !Number.isInteger(options.maxCatchUpSteps) || options.maxCatchUpSteps < 1) {
      throw new RangeError(`bad walk options ${JSON.stringify(options)}`);
    }
    if (state) {
      if (!(Number.isFinite(state.mid) && state.mid > 0))
        throw new RangeError(`walk state of ${spec.symbol} has a bad mid ${state.mid}`);
      if (state.lastStep !== null && !Number.isInteger(state.lastStep))
        throw new RangeError(`walk state of ${spec.symbol} has a bad step ${state.lastStep}`);
      if (state.shocks !== undefined && !(Number.isInteger(state.shocks) && state.shocks >= 0))
        throw new RangeError(`walk state of ${spec.symbol} has a bad shock count ${state.shocks}`);
      this.rng = new SeededRandom(state.rng);
      this.mid = state.mid;
      this.lastStep = state.lastStep;
      this.shocks = state.shocks ?? 0;
    } else {
      this.rng = SeededRandom.forSymbol(seed, spec.symbol);
      this.mid = spec.startPrice;
      this.lastStep = null;
    }
  }

  /**
   * Walks up to `now` (epoch ms). Time going backwards leaves the price where it is. `maxSteps`
   * replaces `maxCatchUpSteps` for this call (a restarted account catching up its downtime).
   */
  advanceTo(now: number, maxSteps = this.options.maxCatchUpSteps): AdvanceOutcome {
    const outcome = this.beginAdvance(now, maxSteps);
    for (let i = 0; i < outcome.stepped; i++) this.stepOnce();
    return outcome;
  }

  /**
   * Starts walking to `now` one step at a time, for a caller that looks at the price after every
   * step: returns the steps `advanceTo(now)` would walk, which the caller then takes with
   * `stepOnce`. The skipped part of a long gap is jumped first, so the state between two steps
   * (mid, rng, lastStep) is the one a later `advanceTo` continues exactly from. `maxSteps` as for
   * `advanceTo`.
   */
  beginAdvance(now: number, maxSteps = this.options.maxCatchUpSteps): AdvanceOutcome {
    if (!Number.isFinite(now)) throw new RangeError(`walk time must be finite, got ${now}`);
    const step = Math.floor(now / this.options.stepMs);
    if (this.lastStep === null) {
      this.lastStep = step;
      return { stepped: 0, skipped: 0 };
    }
    const due = step - this.lastStep;
    if (due <= 0) return { stepped: 0, skipped: 0 };
    if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new RangeError(`bad step bound ${maxSteps}`);
    const stepped = Math.min(due, maxSteps);
    this.lastStep = step - stepped;
    return { stepped, skipped: due - stepped };
  }

  /** One step of a gap started with `beginAdvance`; the same multiplication `advanceTo` makes. */
  stepOnce(): void {
    if (this.lastStep === null)
      throw new Error(`price walk of ${this.spec.symbol} stepped before it saw the clock`);
    this.mid *= Math.exp(this.spec.volatility * this.rng.normal());
    this.assertMid();
    this.lastStep += 1;
    this.shocks = 0;
  }

  /** Epoch ms of the last step taken; undefined until the walk first sees the clock. */
  lastStepTime(): number | undefined {
    return this.lastStep === null ? undefined : this.lastStep * this.options.stepMs;
  }

  /**
   * Bid and ask around the current mid, rounded to the symbol's digits; ask - bid is the spread.
   * The same frozen object until the mid moves: valuing every open position asks for it each time.
   */
  quote(): Readonly<Quote> {
    if (this.quoted !== undefined && this.quotedMid === this.mid) return this.quoted;
    const scale = 10 ** this.spec.digits;
    // At least one point above zero, so even an absurd shock never quotes a non-positive bid.
    const bidPoints = Math.max(1, Math.round(this.mid * scale - this.spec.spreadPoints / 2));
    const askPoints = bidPoints + this.spec.spreadPoints;
    this.quotedMid = this.mid;
    this.quoted = Object.freeze({
      bid: roundTo(bidPoints / scale, this.spec.digits),
      ask: roundTo(askPoints / scale, this.spec.digits),
    });
    return this.quoted;
  }

  currentMid(): number {
    return this.mid;
  }

  /** Moves the mid by `percent` (e.g. -5 for a 5 % drop); more than -100 % is refused. */
  shock(percent: number): void {
    if (!Number.isFinite(percent) || percent <= -100)
      throw new RangeError(`price shock must be a finite percent above -100, got ${percent}`);
    this.mid *= 1 + percent / 100;
    this.assertMid();
    this.shocks += 1;
  }

  state(): PriceWalkState {
    const state: PriceWalkState = { mid: this.mid, rng: this.rng.state, lastStep: this.lastStep };
    if (this.shocks > 0) state.shocks = this.shocks;
    return state;
  }

  private assertMid(): void {
    // Cannot happen with multiplicative finite steps; if it does, the walk is broken: fail fast.
    if (!(Number.isFinite(this.mid) && this.mid > 0))
      throw new Error(`price walk of ${this.spec.symbol} broke: mid ${this.mid}`);
  }
}
