import { instrumentSpec, resolveInstruments, type InstrumentSpec } from './instruments';
import {
  DEFAULT_WALK_OPTIONS,
  PriceWalk,
  type AdvanceOutcome,
  type PriceWalkOptions,
  type PriceWalkState,
  type Quote,
} from './price-walk';

export interface PaperMarketOptions {
  /** PAPER_SYMBOLS. */
  symbols: readonly string[];
  /** PAPER_SEED. */
  seed: number;
  walk?: Partial<PriceWalkOptions>;
}

/**
 * Told, in the call that moved the market, of every move while subscribed: the symbols that
 * moved (one walk step, or a shock) and the time of the move. An account with open positions
 * checks its stops and stop-out here, so they act at the step where the price crossed.
 */
export type MarketListener = (moved: readonly string[], at: number) => void;

/** One restored account's walks as they stood at its last change (see `PaperMarket.catchUp`). */
export interface RecordedWalks {
  walks: Readonly<Record<string, PriceWalkState>>;
  /** Set for an account holding positions: it is given the catch-up's steps after its own moment. */
  listener?: MarketListener;
}

/**
 * The prices of every paper account of one process (docs/accounts.md): one seeded `PriceWalk`
 * per symbol, so one signal fills every account at the same quote. The walks move to the time
 * the first caller passes (`advanceTo`); they never read a clock.
 *
 * Accounts holding positions subscribe and are pushed every step, so their stops trigger at the
 * step where the price crossed, whoever moved the market; accounts without positions only read
 * quotes and cost nothing per step.
 */
export class PaperMarket {
  readonly seed: number;
  readonly walkOptions: PriceWalkOptions;
  private readonly walks = new Map<string, PriceWalk>();
  private readonly listeners = new Set<MarketListener>();
  private rev = 0;
  /** Latest time seen: the time of a shock applied without one. */
  private lastSeen: number | undefined;
  /** The step bound of the next advance: set by `resumeFrom`, so a restored market walks its downtime. */
  private nextBound: number | undefined;

  constructor(options: PaperMarketOptions) {
    if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff)
      throw new RangeError(`paper seed must be a uint32, got ${options.seed}`);
    this.seed = options.seed;
    this.walkOptions = { ...DEFAULT_WALK_OPTIONS, ...options.walk };
    for (const [symbol, spec] of resolveInstruments(options.symbols))
      this.walks.set(symbol, new PriceWalk(spec, this.seed, this.walkOptions));
  }

  /** Grows at every move (a step, a shock, a restore): a valuation cached at one revision is stale at the next. */
  get revision(): number {
    return this.rev;
  }

  /** Accounts pushed every step: those holding positions. */
  get subscriberCount(): number {
    return this.listeners.size;
  }

  symbols(): string[] {
    return [...this.walks.keys()];
  }

  has(symbol: string): boolean {
    return this.walks.has(symbol);
  }

  spec(symbol: string): InstrumentSpec | undefined {
    return this.walks.get(symbol)?.spec;
  }

  /** The quote as of the last move (call `advanceTo` first); the same frozen object until the price moves. */
  quote(symbol: string): Readonly<Quote> | undefined {
    return this.walks.get(symbol)?.quote();
  }

  /**
   * Quotes `symbol` too, from the seed (a restored position's symbol that PAPER_SYMBOLS no longer
   * lists). Throws on a symbol without an instrument spec.
   */
  addSymbol(symbol: string): void {
    if (this.walks.has(symbol)) return;
    this.walks.set(symbol, new PriceWalk(instrumentSpec(symbol), this.seed, this.walkOptions));
  }

  subscribe(listener: MarketListener): void {
    this.listeners.add(listener);
  }

  unsubscribe(listener: MarketListener): void {
    this.listeners.delete(listener);
  }

  /**
   * Walks every symbol to `now`, at most `walk.maxCatchUpSteps` steps (a longer gap jumps the
   * rest first, see `PriceWalk.beginAdvance`). With subscribers, every step is taken for all
   * symbols together and pushed to them; the prices are the same as a walk in one go.
   */
  advanceTo(now: number): void {
    if (!Number.isFinite(now)) throw new RangeError(`paper market time must be finite, got ${now}`);
    if (this.lastSeen === undefined || now > this.lastSeen) this.lastSeen = now;
    const limit = this.nextBound ?? this.walkOptions.maxCatchUpSteps;
    this.nextBound = undefined;
    if (this.listeners.size === 0) {
      for (const walk of this.walks.values()) if (walk.advanceTo(now, limit).stepped > 0) this.rev++;
      return;
    }
    const gaps: { symbol: string; walk: PriceWalk; steps: number }[] = [];
    let longest = 0;
    for (const [symbol, walk] of this.walks) {
      const { stepped } = walk.beginAdvance(now, limit);
      if (stepped === 0) continue;
      gaps.push({ symbol, walk, steps: stepped });
      longest = Math.max(longest, stepped);
    }
    // Walks normally share their last step; one that is behind others ends with them.
    const all = gaps.map((gap) => gap.symbol);
    const shortest = Math.min(...gaps.map((gap) => gap.steps));
    for (let i = 0; i < longest; i++) {
      let at = Number.NEGATIVE_INFINITY;
      for (const gap of gaps) {
        if (i < longest - gap.steps) continue;
        gap.walk.stepOnce();
        at = Math.max(at, gap.walk.lastStepTime() ?? at);
      }
      this.rev++;
      const moved =
        i >= longest - shortest ? all : gaps.filter((g) => i >= longest - g.steps).map((g) => g.symbol);
      this.push(moved, at);
    }
  }

  /**
   * Moves `symbol`'s mid by `percent` at once (paper only: tests, rehearsals), for every account;
   * with `now`, the market first walks to it. The jump is pushed like a step, so stops it passed
   * close at their level. Throws on an unknown symbol or a drop of 100 % or more.
   */
  shock(symbol: string, percent: number, now?: number): void {
    const walk = this.walks.get(symbol);
    if (!walk) throw new Error(`paper market does not quote ${symbol}`);
    if (now !== undefined) this.advanceTo(now);
    walk.shock(percent);
    this.rev++;
    this.push([symbol], this.lastSeen ?? walk.lastStepTime() ?? 0);
  }

  walkStates(): Record<string, PriceWalkState> {
    return Object.fromEntries([...this.walks].map(([symbol, walk]) => [symbol, walk.state()]));
  }

  /**
   * One account's private market after a restore: continues each symbol from its saved state
   * (saved symbols not quoted are ignored), and lets the next advance walk up to `maxSteps`, so
   * the whole downtime is walked step by step as the live process did.
   */
  resumeFrom(states: Readonly<Record<string, PriceWalkState>>, maxSteps: number): void {
    for (const [symbol, state] of Object.entries(states)) {
      const walk = this.walks.get(symbol);
      if (walk) this.walks.set(symbol, new PriceWalk(walk.spec, this.seed, this.walkOptions, state));
    }
    this.rev++;
    this.nextBound = maxSteps;
  }

  /**
   * A shared market after a restart, once for all its accounts: each account recorded the walks
   * as they stood at its last change. Walks are deterministic from a saved state (its RNG state
   * included), so each symbol starts from the oldest state an account holding positions needs
   * (without one, the newest state), and when the walk reaches the step of a newer recorded state
   * it takes that state instead of stepping: the truth at that moment, shocks included. Every
   * step up to `now` is pushed to the subscribers, each only after its own moment (a subscriber
   * not in `recorded` gets all), so stops crossed while the process was down close at their step
   * in every account. At most `maxSteps` steps are walked; a longer downtime jumps its start.
   */
  catchUp(now: number, recorded: readonly RecordedWalks[], maxSteps: number): AdvanceOutcome {
    if (!Number.isFinite(now)) throw new RangeError(`paper market time must be finite, got ${now}`);
    if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new RangeError(`bad step bound ${maxSteps}`);
    const stepMs = this.walkOptions.stepMs;
    /** Each account's own moment: the newest step of its walks. */
    const ownStep = new Map<MarketListener, number>();
    let newestRecorded = Number.NEGATIVE_INFINITY;
    for (const r of recorded) {
      const steps = Object.values(r.walks).flatMap((w) => (w.lastStep === null ? [] : [w.lastStep]));
      if (steps.length === 0) continue;
      const own = Math.max(...steps);
      newestRecorded = Math.max(newestRecorded, own);
      if (r.listener !== undefined) ownStep.set(r.listener, own);
    }
    // Steps the live process took are walked again even when the clock now reads earlier.
    const end = Math.max(Math.floor(now / stepMs), newestRecorded);
    const plans: { symbol: string; walk: PriceWalk; last: number; adopt: [number, PriceWalkState][] }[] = [];
    let skipped = 0;
    for (const [symbol, walk] of this.walks) {
      const plan = planSymbol(symbol, recorded, this.listeners, end, maxSteps);
      if (plan === undefined) continue;
      skipped = Math.max(skipped, plan.skipped);
      const started = new PriceWalk(walk.spec, this.seed, this.walkOptions, plan.start);
      this.walks.set(symbol, started);
      plans.push({ symbol, walk: started, last: plan.start.lastStep!, adopt: plan.adopt.reverse() });
    }
    const first = Math.min(end + 1, ...plans.map((p) => p.last + 1));
    const lastOwn = Math.max(Number.NEGATIVE_INFINITY, ...ownStep.values());
    for (let step = first; step <= end; step++) {
      const moved: string[] = [];
      for (const plan of plans) {
        if (plan.last >= step) continue;
        const adopted = plan.adopt.at(-1);
        if (adopted !== undefined && adopted[0] === step) {
          plan.adopt.pop();
          plan.walk = new PriceWalk(plan.walk.spec, this.seed, this.walkOptions, adopted[1]);
          this.walks.set(plan.symbol, plan.walk);
        } else {
          plan.walk.stepOnce();
        }
        plan.last = step;
        moved.push(plan.symbol);
      }
      this.rev++;
      const at = step * stepMs;
      if (step > lastOwn) {
        this.push(moved, at);
        continue;
      }
      for (const listener of this.listeners) {
        const own = ownStep.get(listener);
        if (own === undefined || step > own) listener(moved, at);
      }
    }
    this.rev++;
    // Anchors the symbols nobody recorded, and sets the time a shock without one is applied at.
    this.advanceTo(now);
    return { stepped: end + 1 - first, skipped };
  }

  private push(moved: readonly string[], at: number): void {
    // A listener that closes its last position unsubscribes itself here: deleting from a Set
    // while iterating it is safe.
    for (const listener of this.listeners) listener(moved, at);
  }
}

/**
 * Where one symbol's catch-up starts and which recorded states it takes on the way (the newest of
 * each step, in step order); undefined when no account recorded the symbol anchored (it stays).
 */
function planSymbol(
  symbol: string,
  recorded: readonly RecordedWalks[],
  subscribed: ReadonlySet<MarketListener>,
  end: number,
  maxSteps: number,
): { start: PriceWalkState; adopt: [number, PriceWalkState][]; skipped: number } | undefined {
  const byStep = new Map<number, PriceWalkState>();
  let needed = Number.POSITIVE_INFINITY;
  let newest = Number.NEGATIVE_INFINITY;
  for (const r of recorded) {
    const state = r.walks[symbol];
    if (state === undefined || state.lastStep === null) continue;
    const step = state.lastStep;
    const seen = byStep.get(step);
    // Two states of one step differ only by shocks (a shared market's states are taken from one
    // walk): the one with more is the newer.
    if (seen === undefined || (state.shocks ?? 0) > (seen.shocks ?? 0)) byStep.set(step, state);
    newest = Math.max(newest, step);
    if (r.listener !== undefined && subscribed.has(r.listener)) needed = Math.min(needed, step);
  }
  if (byStep.size === 0) return undefined;
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  let from = Number.isFinite(needed) ? needed : newest;
  // A downtime over the bound: start from the newest state at or before the jump, and jump.
  const jumpTo = end - maxSteps;
  let skipped = 0;
  if (jumpTo > from) {
    from = steps.filter((s) => s <= jumpTo).at(-1)!;
    skipped = jumpTo - from;
  }
  const start = { ...byStep.get(from)!, lastStep: Math.max(from, jumpTo) };
  if (start.lastStep !== from) delete start.shocks;
  const adopt = steps
    .filter((s) => s > start.lastStep)
    .map((s): [number, PriceWalkState] => [s, byStep.get(s)!]);
  return { start, adopt, skipped };
}
