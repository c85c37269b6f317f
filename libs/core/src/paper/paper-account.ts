import {
  DEAL_REASONS,
  type AccountInfo,
  type ClosePositionRequest,
  type Deal,
  type DealReason,
  type OpenOrderRequest,
  type OrderSide,
  type Position,
  type SymbolInfo,
  type TradeResult,
} from '../broker/broker-types';
import { Retcode } from '../broker/retcodes';
import { setNewest } from '../collections/set-newest';
import { MAX_COMMENT_LENGTH } from '../execution/request-ids';
import {
  ACCOUNT_CURRENCY,
  profitToUsd,
  resolveInstruments,
  roundTo,
  type InstrumentSpec,
} from './instruments';
import { PaperMarket, type MarketListener } from './paper-market';
import type { AdvanceOutcome, PriceWalkOptions, PriceWalkState, Quote } from './price-walk';
import { SymbolStops } from './stop-book';

export interface PaperAccountOptions {
  /** Starting balance in USD (PAPER_BALANCE). Ignored by `restore`: the snapshot's balance wins. */
  balance: number;
  /** PAPER_SYMBOLS. With `market`, the market quotes them too (and every symbol it already quotes). */
  symbols: readonly string[];
  /** PAPER_SEED. With `market`, must be the market's. */
  seed: number;
  /**
   * The market shared by every paper account of the process (docs/accounts.md). Without it the
   * account makes a private one from `symbols`, `seed` and `walk`.
   */
  market?: PaperMarket;
  login?: number;
  /** 100 means 1:100. */
  leverage?: number;
  /** Without `market` only: a shared market's walk options are its own. */
  walk?: Partial<PriceWalkOptions>;
  /** How long a request id is remembered, in clock time. The bridge promises at least 24 h. */
  idempotencyTtlMs?: number;
  /** Upper bound on remembered request ids; the oldest go first beyond it. */
  idempotencyMaxEntries?: number;
  /**
   * PAPER_STOP_OUT_LEVEL: when the margin level (equity / margin * 100) falls under it, positions
   * are closed, largest loss first, until it is back. 50 is MT5's common default.
   */
  stopOutLevelPercent?: number;
  /** Deals kept in the history (the newest); older ones are forgotten, as a broker trims its history. */
  dealHistoryMaxEntries?: number;
  /**
   * Most walk steps the first call after `restore` (or `applyChange`) walks, instead of
   * `walk.maxCatchUpSteps`: a restarted account walks the whole time since the state it was
   * restored to, as the live process did in its frequent calls, so it quotes the prices (and
   * crosses the stops) the live account did. Default: 7 days of steps. On a shared market the
   * walking is `PaperAccount.resumeMarket`'s, with this bound.
   */
  maxRestoreCatchUpSteps?: number;
}

/** An open position as stored in the snapshot. */
export interface PaperPositionRecord {
  ticket: number;
  symbol: string;
  type: OrderSide;
  volume: number;
  priceOpen: number;
  sl: number;
  tp: number;
  magic: number;
  comment: string;
  /** Epoch ms of the opening fill. */
  openedAt: number;
}

export interface StoredTradeResult {
  requestId: string;
  /** Epoch ms when the outcome was stored; drives the 24 h expiry. */
  at: number;
  result: TradeResult;
}

/** Whole state of the account, JSON-serialisable. */
export interface PaperAccountSnapshot {
  version: 1;
  /** Number of the last change (`PaperChange.number`) the snapshot holds; 0 in snapshots from before change numbers. */
  lastChange: number;
  balance: number;
  nextOrder: number;
  nextDeal: number;
  positions: PaperPositionRecord[];
  walks: Record<string, PriceWalkState>;
  /** Oldest first. */
  requests: StoredTradeResult[];
  /** The deal history, oldest first. Snapshots from before the history read as empty. */
  deals: Deal[];
}

/**
 * What one trade or one automatic close left behind, as it stood right after it, enough to redo
 * it on a restored snapshot: its number, the stored outcome, the account totals, the touched
 * position (null: closed, or none touched) and the deals it made. Saving these instead of a whole
 * snapshot per trade keeps persistence O(1) per trade (in positions and stored ids; the walks are
 * one small entry per quoted symbol).
 *
 * The totals are absolute and count every earlier change, so a change is only right on top of
 * all the changes before it: a replay applies changes 1, 2, 3... in number order and stops at the
 * first one missing, which leaves the account exactly as it was right after one change, never a
 * mix. A change recorded again (after a failed record) is the same object: same number, same
 * content.
 */
export interface PaperChange {
  /**
   * 1, 2, 3...: the account numbers every change worth saving (a trade that stored an outcome, an
   * automatic close), continuing from its snapshot's `lastChange`. Absent in journals written
   * before change numbers; such a change follows the one before it.
   */
  number?: number;
  /** The trade's stored outcome; null for an automatic close (stop loss, take profit, stop-out). */
  request: StoredTradeResult | null;
  balance: number;
  nextOrder: number;
  nextDeal: number;
  ticket: number;
  position: PaperPositionRecord | null;
  /**
   * Every walk as it stood at the trade, so a replay quotes the prices the live account quoted
   * (including shocks since the snapshot), not a walk re-run from an older snapshot.
   */
  walks: Record<string, PriceWalkState>;
  /** Deals the change made; applied by ticket, so a change applied twice adds them once. Absent in old journals. */
  deals: Deal[];
}

export const PAPER_LOGIN = 1001;
const DEFAULT_LEVERAGE = 100;
const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * 20,000 ids cover a day of the demo generator (6 signals a minute, each an open or a few
 * closes) with room to spare, and keep the snapshot, which is written at start and stop (trades
 * go to a journal in between), at a few MB. At the MAX_ORDERS_PER_SECOND ceiling (50/s) the cap,
 * not the 24 h, is what limits memory: ids then live about 7 minutes, still far longer than any
 * retry of the same request.
 */
const DEFAULT_MAX_REQUESTS = 20_000;
// Ticket ranges far apart, so an order number mistaken for a deal number shows in a test.
const FIRST_ORDER = 100_001;
const FIRST_DEAL = 500_001;
const DEFAULT_STOP_OUT_LEVEL_PERCENT = 50;
/** MT5 terminals show a few months of history; 10,000 deals is days of the demo generator, a few MB in the snapshot. */
const DEFAULT_MAX_DEALS = 10_000;
/** A week: longer than any restart; walking it all takes about a second with positions open (once, at the first call). */
const DEFAULT_RESTORE_CATCH_UP_MS = 7 * DAY_MS;

/** One symbol's open positions summed per side, to value them all at a quote in O(1). */
interface Exposure {
  readonly spec: InstrumentSpec;
  count: number;
  /** Σ volume steps * (contract size * volume step), as `profitUsd` counts a position. */
  buyUnits: number;
  /** Σ open price in points * units. */
  buyCost: number;
  sellUnits: number;
  sellCost: number;
}

/**
 * A simulated MT5 hedging account in USD that answers like the bridge (mt5-bridge.md): market
 * fills at the seeded walk's bid/ask, MQL5 retcodes, and request-id idempotency. All methods are
 * synchronous and take the time as `now` (epoch ms); the account never reads a clock.
 *
 * The prices come from a `PaperMarket`: the account's own, or one shared by every paper account of
 * the process, so one signal fills them all at the same quote.
 *
 * Stops act as on a broker's server: at every walk step (and after a price shock) a crossed stop
 * loss or take profit closes its position at the stop level, and a margin level under the
 * stop-out level closes positions, largest loss first, at the market. Those closes happen inside
 * whatever call moved the clock (often a read, on a shared market maybe another account's), so
 * the account queues their changes (`takeAutomaticCloses`) for its own caller to persist. Every
 * change worth saving is numbered (see `PaperChange`), the trades' through `changeFor`, taken
 * right after the trade.
 *
 * Simplifications, on purpose: no slippage or requotes (`deviation` is ignored; a stop fills at
 * its level even when the price jumped past it), margin is fixed at the open price. Every trade
 * outcome is final (there is nothing transient to simulate), so every outcome is stored for
 * idempotency.
 */
export class PaperAccount {
  private balance: number;
  private nextOrder = FIRST_ORDER;
  private nextDeal = FIRST_DEAL;
  private readonly openPositions = new Map<number, PaperPositionRecord>();
  private readonly market: PaperMarket;
  /** True for a private market: a restore sets its walks. A shared one is restored by `resumeMarket`. */
  private readonly ownsMarket: boolean;
  /** Subscribed to the market while positions are open: it pushes every step to it. */
  private readonly listener: MarketListener = (moved, at) => this.marketMoved(moved, at);
  /**
   * On a shared market, from a restore until `resumeMarket`: the walks as they stood at the
   * account's last change (what its snapshot keeps saying, and where its catch-up starts).
   */
  private recordedWalks: Record<string, PriceWalkState> | undefined;
  private readonly requests = new Map<string, StoredTradeResult>();
  private readonly login: number;
  private readonly leverage: number;
  private readonly ttlMs: number;
  private readonly maxRequests: number;
  private readonly stopOutLevel: number;
  private readonly maxDeals: number;
  private readonly restoreCatchUpSteps: number;
  private rev = 0;
  /** Number of the newest change made or applied (`PaperChange.number`). */
  private changeNo = 0;
  /** The request id of the trade that made change `changeNo`; undefined when that change is not a trade of this process. */
  private newestTrade: string | undefined;
  /**
   * Sum of `marginUsd` over open positions, kept as positions come and go: margin is fixed at the
   * open price, so it never needs the quotes, and a fresh O(n) sum per order made a burst of
   * orders on thousands of positions quadratic.
   */
  private marginSum = 0;
  /**
   * Sum of the positions' floating profit in whole cents, valid while the market's revision has
   * not moved (walks step at most once per `stepMs`): within a step, orders add and remove their
   * own position's part instead of revaluing every position. Undefined: recompute on next use.
   */
  private floatingCents: number | undefined;
  private floatingAt = -1;
  /**
   * Per symbol, the open positions summed per side: a walk step checks the margin level from
   * these in O(symbols) and only counts position by position when the level is near stop-out.
   */
  private readonly exposures = new Map<string, Exposure>();
  /** Per symbol, the stop levels of its positions, nearest first: a step finds what it crossed without a scan. */
  private readonly stops = new Map<string, SymbolStops>();
  /** Deal history by ticket, in ticket order (oldest first). */
  private readonly history = new Map<number, Deal>();
  /** Deal tickets of each position in the history, oldest first. */
  private readonly dealsOfPosition = new Map<number, number[]>();
  /** Highest ticket in the history (the last key). */
  private newestDeal = 0;
  /** Changes of automatic closes not yet handed to `takeAutomaticCloses`. */
  private readonly unclaimedCloses: PaperChange[] = [];

  constructor(options: PaperAccountOptions) {
    if (!(Number.isFinite(options.balance) && options.balance > 0))
      throw new RangeError(`paper balance must be positive, got ${options.balance}`);
    if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff)
      throw new RangeError(`paper seed must be a uint32, got ${options.seed}`);
    this.balance = roundTo(options.balance, 2);
    this.login = options.login ?? PAPER_LOGIN;
    this.leverage = options.leverage ?? DEFAULT_LEVERAGE;
    this.ttlMs = options.idempotencyTtlMs ?? DAY_MS;
    this.maxRequests = options.idempotencyMaxEntries ?? DEFAULT_MAX_REQUESTS;
    if (!(this.leverage > 0) || !(this.ttlMs > 0) || !(this.maxRequests >= 1))
      throw new RangeError('paper leverage, idempotency ttl and cap must be positive');
    this.stopOutLevel = options.stopOutLevelPercent ?? DEFAULT_STOP_OUT_LEVEL_PERCENT;
    if (!(Number.isFinite(this.stopOutLevel) && this.stopOutLevel > 0))
      throw new RangeError(`paper stop-out level must be a positive percent, got ${this.stopOutLevel}`);
    this.maxDeals = options.dealHistoryMaxEntries ?? DEFAULT_MAX_DEALS;
    if (!(this.maxDeals >= 1))
      throw new RangeError(`paper deal history cap must be positive, got ${this.maxDeals}`);
    if (options.market === undefined) {
      this.market = new PaperMarket(options);
      this.ownsMarket = true;
    } else {
      this.market = options.market;
      this.ownsMarket = false;
      if (options.seed !== this.market.seed || options.walk !== undefined)
        throw new RangeError("paper account on a shared market: seed and walk options are the market's");
      for (const symbol of resolveInstruments(options.symbols).keys()) this.market.addSymbol(symbol);
    }
    const walkOptions = this.market.walkOptions;
    this.restoreCatchUpSteps =
      options.maxRestoreCatchUpSteps ??
      Math.max(walkOptions.maxCatchUpSteps, Math.ceil(DEFAULT_RESTORE_CATCH_UP_MS / walkOptions.stepMs));
    if (!Number.isInteger(this.restoreCatchUpSteps) || this.restoreCatchUpSteps < 1)
      throw new RangeError(
        `paper restore catch-up must be a positive whole number of steps, got ${this.restoreCatchUpSteps}`,
      );
  }

  /**
   * Rebuilds an account from `snapshot()`. Symbols of open positions stay quoted even when
   * PAPER_SYMBOLS no longer lists them, so they can still be valued and closed; walks continue
   * from their saved state, new symbols start fresh from `options.seed`. The first call that
   * moves the clock walks the whole time since the saved state (up to `maxRestoreCatchUpSteps`),
   * so the restored account quotes what the live one did if the live process called at least
   * every `walk.maxCatchUpSteps` steps (the runtime's equity checks read it far more often).
   *
   * On a shared market (`options.market`) the market is left alone: restore every account of it
   * (and apply their changes), then call `resumeMarket` once.
   */
  static restore(snapshot: PaperAccountSnapshot, options: PaperAccountOptions): PaperAccount {
    const state = parsePaperAccountSnapshot(snapshot);
    const symbols = [...new Set([...options.symbols, ...state.positions.map((p) => p.symbol)])];
    const account = new PaperAccount({ ...options, symbols });
    account.changeNo = state.lastChange;
    account.balance = state.balance;
    account.nextOrder = state.nextOrder;
    account.nextDeal = state.nextDeal;
    account.restoreWalks(state.walks);
    for (const position of state.positions) {
      if (position.ticket >= state.nextOrder)
        throw new Error(
          `paper snapshot: position ${position.ticket} is not below nextOrder ${state.nextOrder}`,
        );
      account.openPositions.set(position.ticket, { ...position });
    }
    account.resetTotals();
    for (const entry of state.requests)
      account.requests.set(entry.requestId, { ...entry, result: { ...entry.result } });
    for (const deal of [...state.deals].sort((a, b) => a.ticket - b.ticket)) account.recordDeal({ ...deal });
    return account;
  }

  /**
   * After a restart on a shared market: walks the market over the downtime once for all its
   * accounts (`PaperMarket.catchUp`) from the walks each recorded at its last change, pushing
   * every step to the accounts holding positions after their own moment, so the stops crossed
   * while the process was down close at their step in every account (queued, as any automatic
   * close, for `takeAutomaticCloses`). Call once, after every account of the market is restored
   * and before any other call; the bound is the largest `maxRestoreCatchUpSteps`.
   */
  static resumeMarket(accounts: readonly PaperAccount[], now: number): AdvanceOutcome {
    const market = accounts[0]?.market;
    if (market === undefined) return { stepped: 0, skipped: 0 };
    if (accounts.some((a) => a.market !== market || a.ownsMarket))
      throw new Error('paper accounts resumed together must share one market they do not own');
    const recorded = accounts.flatMap((a) =>
      a.recordedWalks === undefined
        ? []
        : [{ walks: a.recordedWalks, listener: a.openPositions.size > 0 ? a.listener : undefined }],
    );
    const outcome = market.catchUp(now, recorded, Math.max(...accounts.map((a) => a.restoreCatchUpSteps)));
    for (const account of accounts) account.recordedWalks = undefined;
    return outcome;
  }

  /**
   * The account leaves its shared market (its process gave it up, docs/scale-out.md): no further
   * step reaches it, so its stops no longer close positions of a book another process now keeps.
   */
  leaveMarket(): void {
    this.market.unsubscribe(this.listener);
  }

  /** Grows by one on every change of state worth saving (a fill, a close, a newly stored outcome, a shock, an automatic close). */
  get revision(): number {
    return this.rev;
  }

  /** Number of the newest change made or applied (`PaperChange.number`); 0 before any. */
  get lastChange(): number {
    return this.changeNo;
  }

  symbols(): string[] {
    return this.market.symbols();
  }

  /** Current bid/ask of a symbol, or undefined when the account does not quote it. */
  quote(symbol: string, now: number): Quote | undefined {
    this.sync(now);
    const quote = this.market.quote(symbol);
    return quote === undefined ? undefined : { ...quote };
  }

  /**
   * What MT5's `symbol_info` would say of a quoted symbol (what order sizing needs), or undefined
   * when the account does not quote it. One tick is 10^-digits; its value for one lot is converted
   * to the account currency at the current mid, as a USD account's terminal reports it.
   */
  symbolInfo(symbol: string, now: number): SymbolInfo | undefined {
    this.sync(now);
    const spec = this.market.spec(symbol);
    const quote = this.market.quote(symbol);
    if (spec === undefined || quote === undefined) return undefined;
    const { bid, ask } = quote;
    const tickSize = roundTo(10 ** -spec.digits, spec.digits);
    const tickValue = profitToUsd(spec, spec.contractSize * tickSize, (bid + ask) / 2);
    return {
      symbol,
      digits: spec.digits,
      contract_size: spec.contractSize,
      tick_size: tickSize,
      tick_value: roundTo(tickValue, 8),
      volume_min: spec.volumeMin,
      volume_max: spec.volumeMax,
      volume_step: spec.volumeStep,
      bid,
      ask,
    };
  }

  account(now: number): AccountInfo {
    this.sync(now);
    const equity = this.equity();
    const margin = this.usedMargin();
    return {
      login: this.login,
      currency: ACCOUNT_CURRENCY,
      balance: this.balance,
      equity,
      margin,
      margin_free: roundTo(equity - margin, 2),
      server_time: new Date(now).toISOString(),
    };
  }

  positions(now: number): Position[] {
    this.sync(now);
    return [...this.openPositions.values()].map((p) => {
      const price = this.exitPrice(p);
      return {
        ticket: p.ticket,
        symbol: p.symbol,
        type: p.type,
        volume: p.volume,
        price_open: p.priceOpen,
        price_current: price,
        sl: p.sl,
        tp: p.tp,
        profit: this.profitUsd(p, p.volume, price),
        magic: p.magic,
        comment: p.comment,
        time: new Date(p.openedAt).toISOString(),
      };
    });
  }

  /** The deals of one position still in the history, oldest first (MT5 `history_deals_get(position=...)`). */
  deals(position: number, now: number): Deal[] {
    this.sync(now);
    return (this.dealsOfPosition.get(position) ?? []).flatMap((ticket) => {
      const deal = this.history.get(ticket);
      return deal === undefined ? [] : [{ ...deal }];
    });
  }

  /** A market order: buy at ask, sell at bid. */
  open(request: OpenOrderRequest, now: number): TradeResult {
    return this.idempotent(request.request_id, now, () => this.fillOpen(request, now));
  }

  /** Closes all of a position, or `volume` of it: a buy at bid, a sell at ask. */
  close(request: ClosePositionRequest, now: number): TradeResult {
    return this.idempotent(request.request_id, now, () => this.fillClose(request, now));
  }

  /**
   * Test and operator hook, paper mode only: moves `symbol`'s mid by `percent` (-5 is a 5 % drop)
   * at once, e.g. to drive a drawdown test or rehearse a cap trigger. The walk continues from
   * the new level. With `now`, the walk first catches up to it. Throws on an unknown symbol or a
   * drop of 100 % or more: the caller made a mistake. The jump is a crossing like any step: stops
   * it passed close at their level, and a stop-out follows if the margin level falls under it.
   * On a shared market the shock moves every account's quotes (and stops).
   */
  applyPriceShock(symbol: string, percent: number, now?: number): void {
    if (!this.market.has(symbol)) throw new Error(`paper account does not quote ${symbol}`);
    if (now !== undefined) this.sync(now);
    this.market.shock(symbol, percent);
    this.rev++;
  }

  /**
   * The changes of the automatic closes (stop loss, take profit, stop-out) since the last call,
   * oldest first, each numbered and as it stood right after its close (`deals` holds the closing
   * deal); each is handed out once.
   */
  takeAutomaticCloses(): PaperChange[] {
    return this.unclaimedCloses.splice(0, this.unclaimedCloses.length);
  }

  /**
   * The change the trade with `requestId` made, for a journal. Take it right after the trade, in
   * the same tick: it is given only while that trade is the account's newest change (otherwise
   * undefined: an id never stored, or other changes since), so it always describes the account
   * as it stood right after the trade. A repeat of a stored id makes no change; its change is
   * given again only when nothing changed since (same number).
   */
  changeFor(requestId: string): PaperChange | undefined {
    if (requestId !== this.newestTrade) return undefined;
    const request = this.requests.get(requestId);
    if (request === undefined) return undefined;
    const deal = request.result.deal > 0 ? this.history.get(request.result.deal) : undefined;
    return this.changeNow(request.result.position, { ...request, result: { ...request.result } }, deal);
  }

  /**
   * Redo a journaled change on a restored account: the next change, numbered `lastChange + 1`
   * (one without a number, from an old journal, is taken as the next). Afterwards the account is
   * the live one as it stood right after that change. Deals are added by ticket, once. Throws
   * when the change is not the next one, or holds a position on a symbol the account does not
   * quote (restore with that symbol listed).
   */
  applyChange(change: PaperChange): void {
    const number = change.number ?? this.changeNo + 1;
    if (number !== this.changeNo + 1)
      throw new Error(`paper change ${number} is not the next change (${this.changeNo + 1})`);
    if (change.position !== null && !this.market.has(change.position.symbol)) {
      const what = change.request === null ? 'automatic close' : change.request.requestId;
      throw new Error(
        `paper change ${what}: position ${change.ticket} is on unquoted ${change.position.symbol}`,
      );
    }
    this.balance = change.balance;
    this.nextOrder = Math.max(this.nextOrder, change.nextOrder);
    this.nextDeal = Math.max(this.nextDeal, change.nextDeal);
    if (change.ticket > 0) {
      const old = this.openPositions.get(change.ticket);
      if (old !== undefined) this.untrack(old);
      if (change.position === null) {
        this.openPositions.delete(change.ticket);
        this.afterRemove();
      } else {
        // Set on the existing key keeps the position's place in the book (positions() order).
        const position = { ...change.position };
        this.openPositions.set(position.ticket, position);
        this.track(position);
      }
    }
    this.restoreWalks(change.walks);
    for (const deal of change.deals) this.recordDeal({ ...deal });
    if (change.request !== null) {
      const request = { ...change.request, result: { ...change.request.result } };
      setNewest(this.requests, change.request.requestId, request, this.maxRequests);
    }
    this.changeNo = number;
    this.newestTrade = undefined;
    this.rev++;
  }

  snapshot(): PaperAccountSnapshot {
    return {
      version: 1,
      lastChange: this.changeNo,
      balance: this.balance,
      nextOrder: this.nextOrder,
      nextDeal: this.nextDeal,
      positions: [...this.openPositions.values()].map((p) => ({ ...p })),
      walks:
        this.recordedWalks === undefined
          ? this.market.walkStates()
          : Object.fromEntries(Object.entries(this.recordedWalks).map(([k, w]) => [k, { ...w }])),
      requests: [...this.requests.values()].map((e) => ({ ...e, result: { ...e.result } })),
      deals: [...this.history.values()].map((d) => ({ ...d })),
    };
  }

  /** The newest change (number `changeNo`) as the account stands now: call right after making it. */
  private changeNow(ticket: number, request: StoredTradeResult | null, deal: Deal | undefined): PaperChange {
    const position = ticket > 0 ? this.openPositions.get(ticket) : undefined;
    return {
      number: this.changeNo,
      request,
      balance: this.balance,
      nextOrder: this.nextOrder,
      nextDeal: this.nextDeal,
      ticket,
      position: position === undefined ? null : { ...position },
      walks: this.market.walkStates(),
      deals: deal === undefined ? [] : [{ ...deal }],
    };
  }

  /**
   * The walks as they stood at a restored snapshot or change: a private market continues from
   * them, its next call walking the whole downtime; a shared one keeps them for `resumeMarket`.
   */
  private restoreWalks(states: Record<string, PriceWalkState>): void {
    if (this.ownsMarket) this.market.resumeFrom(states, this.restoreCatchUpSteps);
    else this.recordedWalks = states;
  }

  private idempotent(requestId: unknown, now: number, execute: () => TradeResult): TradeResult {
    this.sync(now);
    // Without an id there is nothing to deduplicate on: refuse, and remember nothing.
    if (typeof requestId !== 'string' || requestId.length === 0) {
      return failure('', Retcode.INVALID, 'Missing request_id');
    }
    this.evictExpired(now);
    const seen = this.requests.get(requestId);
    if (seen) return { ...seen.result };
    const result = { ...execute(), request_id: requestId };
    setNewest(this.requests, requestId, { requestId, at: now, result }, this.maxRequests);
    this.changeNo++;
    this.newestTrade = requestId;
    this.rev++;
    return { ...result };
  }

  private fillOpen(request: OpenOrderRequest, now: number): TradeResult {
    const id = request.request_id;
    const spec = typeof request.symbol === 'string' ? this.market.spec(request.symbol) : undefined;
    const quote = spec === undefined ? undefined : this.market.quote(spec.symbol);
    if (spec === undefined || quote === undefined)
      return failure(id, Retcode.INVALID, `Unknown symbol ${String(request.symbol)}`);
    if (request.type !== 'buy' && request.type !== 'sell')
      return failure(id, Retcode.INVALID, `Invalid order type ${String(request.type)}`);
    const volume = validVolume(request.volume, spec, spec.volumeMax);
    if (volume === undefined) return failure(id, Retcode.INVALID_VOLUME, 'Invalid volume');
    const magic = request.magic ?? 0;
    if (!Number.isInteger(magic) || magic < 0) return failure(id, Retcode.INVALID, 'Invalid magic');

    const { bid, ask } = quote;
    const sl = stopLevel(request.sl);
    const tp = stopLevel(request.tp);
    if (sl === undefined || tp === undefined) return failure(id, Retcode.INVALID_STOPS, 'Invalid stops');
    const stopsOk =
      request.type === 'buy'
        ? (sl === 0 || sl < bid) && (tp === 0 || tp > ask)
        : (sl === 0 || sl > ask) && (tp === 0 || tp < bid);
    if (!stopsOk) return failure(id, Retcode.INVALID_STOPS, 'Invalid stops');

    const price = request.type === 'buy' ? ask : bid;
    const required = this.marginUsd(spec, volume, price);
    const free = this.balance + this.floatingProfit() - this.usedMargin();
    if (required > free) return failure(id, Retcode.NO_MONEY, 'No money');

    const ticket = this.nextOrder++;
    const deal = this.nextDeal++;
    const position: PaperPositionRecord = {
      ticket,
      symbol: spec.symbol,
      type: request.type,
      volume,
      priceOpen: price,
      sl,
      tp,
      magic,
      comment: typeof request.comment === 'string' ? request.comment.slice(0, MAX_COMMENT_LENGTH) : '',
      openedAt: now,
    };
    this.openPositions.set(ticket, position);
    this.track(position);
    this.recordDeal(
      dealOf(position, { ticket: deal, order: ticket, entry: 'in', volume, price, profit: 0 }, 'expert', now),
    );
    return {
      request_id: id,
      retcode: Retcode.DONE,
      order: ticket,
      deal,
      position: ticket,
      volume,
      price,
      comment: 'Request executed',
    };
  }

  private fillClose(request: ClosePositionRequest, now: number): TradeResult {
    const id = request.request_id;
    const position = this.openPositions.get(request.ticket);
    if (!position)
      return {
        ...failure(id, Retcode.POSITION_CLOSED, "Position doesn't exist"),
        position: numberOr0(request.ticket),
      };
    const spec = this.specOf(position);
    const volume =
      request.volume === undefined ? position.volume : validVolume(request.volume, spec, position.volume);
    if (volume === undefined)
      return { ...failure(id, Retcode.INVALID_VOLUME, 'Invalid volume'), position: position.ticket };

    const price = this.exitPrice(position);
    const deal = this.closeVolume(position, volume, price, 'expert', now);
    return {
      request_id: id,
      retcode: Retcode.DONE,
      order: deal.order,
      deal: deal.ticket,
      position: position.ticket,
      volume,
      price,
      comment: 'Request executed',
    };
  }

  /** Closes `volume` of an open position at `price`: books the profit, numbers the order and deal, records the deal. */
  private closeVolume(
    position: PaperPositionRecord,
    volume: number,
    price: number,
    reason: DealReason,
    at: number,
  ): Deal {
    const profit = this.profitUsd(position, volume, price);
    this.balance = roundTo(this.balance + profit, 2);
    const remaining = roundTo(position.volume - volume, 2);
    this.untrack(position);
    if (remaining > 0) {
      position.volume = remaining;
      this.track(position);
    } else {
      this.openPositions.delete(position.ticket);
      this.afterRemove();
    }
    const order = this.nextOrder++;
    const ticket = this.nextDeal++;
    const deal = dealOf(position, { ticket, order, entry: 'out', volume, price, profit }, reason, at);
    this.recordDeal(deal);
    return deal;
  }

  /** A whole position closed by the account itself (a stop or a stop-out), queued to be persisted. */
  private closeAutomatically(
    position: PaperPositionRecord,
    price: number,
    reason: DealReason,
    at: number,
  ): void {
    const deal = this.closeVolume(position, position.volume, price, reason, at);
    this.changeNo++;
    this.newestTrade = undefined;
    // Taken now: a replay that ends at this change must find the account as it is at this moment.
    this.unclaimedCloses.push(this.changeNow(position.ticket, null, deal));
    this.rev++;
  }

  /**
   * Walks the market up to `now`. With positions open the account is subscribed, so the market
   * pushes every step to `marketMoved`: a crossing inside a long gap acts at the step where it
   * happened.
   */
  private sync(now: number): void {
    if (!Number.isFinite(now)) throw new RangeError(`paper account time must be finite, got ${now}`);
    this.market.advanceTo(now);
  }

  /** A step (or a shock) of the market while positions are open: the stops it crossed, then the margin level. */
  private marketMoved(moved: readonly string[], at: number): void {
    for (const symbol of moved) this.triggerStops(symbol, at);
    this.checkStopOut(at);
  }

  /** After a position left the book. */
  private afterRemove(): void {
    if (this.openPositions.size > 0) return;
    // Additions and removals in floating point drift by ulps; with nothing open the margin is exactly 0.
    this.marginSum = 0;
    // Nothing left for a step to close: the account costs the market nothing per step.
    this.market.unsubscribe(this.listener);
  }

  /** Closes, at their level, the positions on `symbol` whose stop the current quote has crossed. */
  private triggerStops(symbol: string, at: number): void {
    const book = this.stops.get(symbol);
    if (book === undefined || book.size === 0) return;
    const { bid, ask } = this.market.quote(symbol)!;
    for (const hit of book.crossed(bid, ask)) {
      const position = this.openPositions.get(hit.ticket);
      if (position !== undefined) this.closeAutomatically(position, hit.level, hit.kind, at);
    }
  }

  /**
   * Under the stop-out level, closes positions at the market, largest loss first, until the
   * level is back or nothing is open. Closing at the market leaves equity as it is and frees
   * the position's margin, so the profits are ranked once.
   */
  private checkStopOut(at: number): void {
    if (this.openPositions.size === 0 || this.clearlyAboveStopOut()) return;
    const level = this.marginLevel();
    if (level === undefined || level >= this.stopOutLevel) return;
    const worstFirst = [...this.openPositions.values()]
      .map((position) => ({ position, cents: this.profitCents(position) }))
      .sort((a, b) => a.cents - b.cents || a.position.ticket - b.position.ticket);
    for (const { position } of worstFirst) {
      this.closeAutomatically(position, this.exitPrice(position), 'so', at);
      const after = this.marginLevel();
      if (after === undefined || after >= this.stopOutLevel) return;
    }
  }

  /**
   * True when the margin level is surely at or above stop-out, judged from the per-symbol sums in
   * O(symbols): the exact equity rounds each position to cents, so the estimate is trusted only
   * with a slack of half a cent per position (plus float noise); false means "count exactly".
   */
  private clearlyAboveStopOut(): boolean {
    const margin = this.usedMargin();
    if (!(margin > 0)) return true;
    let estimate = 0;
    let slack = 0.02;
    for (const e of this.exposures.values()) {
      const { bid, ask } = this.market.quote(e.spec.symbol)!;
      const scale = 10 ** e.spec.digits;
      const bidPoints = Math.round(bid * scale);
      const askPoints = Math.round(ask * scale);
      estimate += profitToUsd(e.spec, (bidPoints * e.buyUnits - e.buyCost) / scale, bid);
      estimate += profitToUsd(e.spec, (e.sellCost - askPoints * e.sellUnits) / scale, ask);
      const size = (bidPoints * e.buyUnits + e.buyCost + e.sellCost + askPoints * e.sellUnits) / scale;
      slack += 0.005 * e.count + 1e-9 * Math.abs(profitToUsd(e.spec, size, bid));
    }
    return this.balance + estimate - slack >= (margin * this.stopOutLevel) / 100;
  }

  /** Equity / margin * 100 at the current quotes; undefined without margin. */
  private marginLevel(): number | undefined {
    const margin = this.usedMargin();
    return margin > 0 ? (this.equity() / margin) * 100 : undefined;
  }

  /** Call after `sync`. */
  private equity(): number {
    return roundTo(this.balance + this.floatingProfit(), 2);
  }

  /** Adds a deal to the history, once per ticket, forgetting the oldest beyond the cap. */
  private recordDeal(deal: Deal): void {
    if (this.history.has(deal.ticket)) return;
    if (deal.ticket < this.newestDeal) {
      // Only a replay meets this (a change recorded again after a failed save lands late): re-sort once.
      const all = [...this.history.values(), deal].sort((a, b) => a.ticket - b.ticket);
      this.history.clear();
      this.dealsOfPosition.clear();
      for (const d of all) this.appendDeal(d);
    } else {
      this.appendDeal(deal);
    }
    if (this.history.size <= this.maxDeals) return;
    for (const [oldest, old] of this.history) {
      if (this.history.size <= this.maxDeals) break;
      this.history.delete(oldest);
      // The oldest deal of the history is the oldest of its position too.
      const tickets = this.dealsOfPosition.get(old.position);
      tickets?.shift();
      if (tickets?.length === 0) this.dealsOfPosition.delete(old.position);
    }
  }

  private appendDeal(deal: Deal): void {
    this.history.set(deal.ticket, deal);
    this.newestDeal = Math.max(this.newestDeal, deal.ticket);
    const tickets = this.dealsOfPosition.get(deal.position);
    if (tickets === undefined) this.dealsOfPosition.set(deal.position, [deal.ticket]);
    else tickets.push(deal.ticket);
  }

  /** Adds a position that is in the book to the running totals, its exposure and its stops. */
  private track(position: PaperPositionRecord): void {
    this.market.subscribe(this.listener);
    this.marginSum += this.marginUsd(this.specOf(position), position.volume, position.priceOpen);
    if (this.floatingCents !== undefined && this.floatingAt === this.market.revision)
      this.floatingCents += this.profitCents(position);
    else this.floatingCents = undefined;
    this.expose(position, 1);
    if (position.sl > 0 || position.tp > 0) {
      let book = this.stops.get(position.symbol);
      if (book === undefined) this.stops.set(position.symbol, (book = new SymbolStops()));
      book.add(position);
    }
  }

  /** Takes a position out of the running totals, before the caller changes or removes it. */
  private untrack(position: PaperPositionRecord): void {
    this.marginSum -= this.marginUsd(this.specOf(position), position.volume, position.priceOpen);
    if (this.floatingCents !== undefined && this.floatingAt === this.market.revision)
      this.floatingCents -= this.profitCents(position);
    else this.floatingCents = undefined;
    this.expose(position, -1);
    if (position.sl > 0 || position.tp > 0) this.stops.get(position.symbol)?.remove(position);
  }

  private expose(position: PaperPositionRecord, sign: 1 | -1): void {
    const spec = this.specOf(position);
    let e = this.exposures.get(spec.symbol);
    if (e === undefined) {
      e = { spec, count: 0, buyUnits: 0, buyCost: 0, sellUnits: 0, sellCost: 0 };
      this.exposures.set(spec.symbol, e);
    }
    // Counted as `profitUsd` counts: whole volume steps and whole points.
    const units = Math.round(position.volume / spec.volumeStep) * (spec.contractSize * spec.volumeStep);
    const cost = Math.round(position.priceOpen * 10 ** spec.digits) * units;
    if (position.type === 'buy') {
      e.buyUnits += sign * units;
      e.buyCost += sign * cost;
    } else {
      e.sellUnits += sign * units;
      e.sellCost += sign * cost;
    }
    e.count += sign;
    // Dropped when empty, so float drift does not outlive the symbol's positions.
    if (e.count === 0) this.exposures.delete(spec.symbol);
  }

  /** Recomputes the running totals from scratch (after a restore). */
  private resetTotals(): void {
    this.marginSum = 0;
    this.floatingCents = undefined;
    this.exposures.clear();
    this.stops.clear();
    this.market.unsubscribe(this.listener);
    for (const p of this.openPositions.values()) this.track(p);
  }

  private profitCents(position: PaperPositionRecord): number {
    return Math.round(this.profitUsd(position, position.volume, this.exitPrice(position)) * 100);
  }

  /** Price a position would close at now: bid for a buy, ask for a sell. */
  private exitPrice(position: PaperPositionRecord): number {
    const quote = this.market.quote(position.symbol);
    if (!quote)
      throw new Error(`paper account holds position ${position.ticket} on unquoted ${position.symbol}`);
    return position.type === 'buy' ? quote.bid : quote.ask;
  }

  /** Profit of `volume` lots of a position valued at `price`, in USD cents. */
  private profitUsd(position: PaperPositionRecord, volume: number, price: number): number {
    const spec = this.specOf(position);
    const scale = 10 ** spec.digits;
    // Whole points and whole volume steps keep the arithmetic exact until the last division.
    const points = Math.round(price * scale) - Math.round(position.priceOpen * scale);
    const steps = Math.round(volume / spec.volumeStep);
    const signed = position.type === 'buy' ? points : -points;
    const inQuote = (signed * steps * (spec.contractSize * spec.volumeStep)) / scale;
    return roundTo(profitToUsd(spec, inQuote, price), 2);
  }

  /** Call after `sync`: valued at the current quotes. */
  private floatingProfit(): number {
    if (this.floatingCents === undefined || this.floatingAt !== this.market.revision) {
      // Whole cents (each position's profit is rounded to cents), so the running sum is exact.
      let cents = 0;
      for (const p of this.openPositions.values()) cents += this.profitCents(p);
      this.floatingCents = cents;
      this.floatingAt = this.market.revision;
    }
    return this.floatingCents / 100;
  }

  /** Margin in USD at leverage 1:N, on the open price (see the class comment). */
  private marginUsd(spec: InstrumentSpec, volume: number, priceOpen: number): number {
    return profitToUsd(spec, (volume * spec.contractSize * priceOpen) / this.leverage, priceOpen);
  }

  private usedMargin(): number {
    return roundTo(this.marginSum, 2);
  }

  private specOf(position: PaperPositionRecord): InstrumentSpec {
    const spec = this.market.spec(position.symbol);
    if (!spec)
      throw new Error(`paper account holds position ${position.ticket} on unquoted ${position.symbol}`);
    return spec;
  }

  private evictExpired(now: number): void {
    // Insertion order is time order (the clock only moves forward in practice), so stop at the first live entry.
    for (const [key, entry] of this.requests) {
      if (now - entry.at < this.ttlMs) break;
      this.requests.delete(key);
    }
  }
}

/** A deal of `position`: the fill's own direction is the position's for `in`, the opposite for `out`. */
function dealOf(
  position: PaperPositionRecord,
  fill: Pick<Deal, 'ticket' | 'order' | 'entry' | 'volume' | 'price' | 'profit'>,
  reason: DealReason,
  at: number,
): Deal {
  const opposite: OrderSide = position.type === 'buy' ? 'sell' : 'buy';
  // Spelt out rather than spread: this runs on every fill, and a spread costs several times more.
  return {
    ticket: fill.ticket,
    order: fill.order,
    position: position.ticket,
    symbol: position.symbol,
    type: fill.entry === 'in' ? position.type : opposite,
    entry: fill.entry,
    volume: fill.volume,
    price: fill.price,
    profit: fill.profit,
    reason,
    magic: position.magic,
    comment: position.comment,
    time: new Date(at).toISOString(),
  };
}

function failure(requestId: string, retcode: number, comment: string): TradeResult {
  return { request_id: requestId, retcode, order: 0, deal: 0, position: 0, volume: 0, price: 0, comment };
}

function numberOr0(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** The volume rounded to its step when it is a positive multiple of the step within [min, max]; undefined otherwise (NaN included). */
function validVolume(volume: unknown, spec: InstrumentSpec, max: number): number | undefined {
  if (typeof volume !== 'number' || !Number.isFinite(volume)) return undefined;
  const steps = volume / spec.volumeStep;
  const whole = Math.round(steps);
  if (Math.abs(steps - whole) > 1e-6) return undefined;
  const normalised = roundTo(whole * spec.volumeStep, 8);
  if (normalised < spec.volumeMin || normalised > max + 1e-9) return undefined;
  return normalised;
}

/** 0 or absent means no stop; undefined means an invalid value. */
function stopLevel(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined;
  return value;
}

/** Checks the shape of a snapshot read from disk; throws an Error naming the first bad field. */
export function parsePaperAccountSnapshot(value: unknown): PaperAccountSnapshot {
  return withContext('paper snapshot', () => {
    const root = record(value, 'snapshot');
    if (root.version !== 1) throw new Error(`unsupported version ${String(root.version)}`);
    const positions = list(root.positions, 'positions').map((item, i) =>
      parsePosition(item, `positions[${i}]`),
    );
    const walks = parseWalks(root.walks);
    const requests = list(root.requests, 'requests').map((item, i) =>
      parseStoredResult(item, `requests[${i}]`),
    );
    return {
      version: 1,
      lastChange: root.lastChange === undefined ? 0 : wholeNumber(root.lastChange, 'lastChange'),
      balance: finite(root.balance, 'balance'),
      nextOrder: integer(root.nextOrder, 'nextOrder'),
      nextDeal: integer(root.nextDeal, 'nextDeal'),
      positions,
      walks,
      requests,
      deals: parseDeals(root.deals, 'deals'),
    };
  });
}

/** Checks the shape of a journaled change read from disk; throws an Error naming the first bad field. */
export function parsePaperChange(value: unknown): PaperChange {
  return withContext('paper change', () => {
    const root = record(value, 'change');
    const ticket = integer(root.ticket, 'ticket');
    const position = root.position === null ? null : parsePosition(root.position, 'position');
    if (position !== null && position.ticket !== ticket)
      throw new Error(`position.ticket ${position.ticket} is not the change's ticket ${ticket}`);
    // An automatic close (stop loss, take profit, stop-out) has no request.
    const request = root.request === null ? null : parseStoredResult(root.request, 'request');
    const number = root.number === undefined ? undefined : wholeNumber(root.number, 'number');
    if (number === 0) throw new Error('number must be positive');
    return {
      ...(number === undefined ? {} : { number }),
      request,
      balance: finite(root.balance, 'balance'),
      nextOrder: integer(root.nextOrder, 'nextOrder'),
      nextDeal: integer(root.nextDeal, 'nextDeal'),
      ticket,
      position,
      walks: parseWalks(root.walks),
      deals: parseDeals(root.deals, 'deals'),
    };
  });
}

function parseWalks(value: unknown): Record<string, PriceWalkState> {
  const walks: Record<string, PriceWalkState> = {};
  for (const [symbol, item] of Object.entries(record(value, 'walks'))) {
    const w = record(item, `walks.${symbol}`);
    walks[symbol] = {
      mid: positive(w.mid, `walks.${symbol}.mid`),
      rng: integer(w.rng, `walks.${symbol}.rng`),
      lastStep: w.lastStep === null ? null : integer(w.lastStep, `walks.${symbol}.lastStep`),
      // Absent in files from before the count, and whenever it is 0.
      ...(w.shocks === undefined ? {} : { shocks: wholeNumber(w.shocks, `walks.${symbol}.shocks`) }),
    };
  }
  return walks;
}

/** Absent (written before the deal history) reads as none. */
function parseDeals(value: unknown, at: string): Deal[] {
  if (value === undefined) return [];
  return list(value, at).map((item, i) => parseDeal(item, `${at}[${i}]`));
}

function parseDeal(item: unknown, at: string): Deal {
  const d = record(item, at);
  const { type, entry, reason } = d;
  if (type !== 'buy' && type !== 'sell') throw new Error(`${at}.type must be buy or sell`);
  if (entry !== 'in' && entry !== 'out') throw new Error(`${at}.entry must be in or out`);
  if (!DEAL_REASONS.includes(reason as DealReason))
    throw new Error(`${at}.reason must be one of ${DEAL_REASONS.join(', ')}`);
  return {
    ticket: integer(d.ticket, `${at}.ticket`),
    order: integer(d.order, `${at}.order`),
    position: integer(d.position, `${at}.position`),
    symbol: text(d.symbol, `${at}.symbol`),
    type,
    entry,
    volume: positive(d.volume, `${at}.volume`),
    price: finite(d.price, `${at}.price`),
    profit: finite(d.profit, `${at}.profit`),
    reason: reason as DealReason,
    magic: integer(d.magic, `${at}.magic`),
    comment: text(d.comment, `${at}.comment`),
    time: text(d.time, `${at}.time`),
  };
}

function withContext<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function parsePosition(item: unknown, at: string): PaperPositionRecord {
  const p = record(item, at);
  const type = p.type;
  if (type !== 'buy' && type !== 'sell') throw new Error(`${at}.type must be buy or sell`);
  return {
    ticket: integer(p.ticket, `${at}.ticket`),
    symbol: text(p.symbol, `${at}.symbol`),
    type,
    volume: positive(p.volume, `${at}.volume`),
    priceOpen: positive(p.priceOpen, `${at}.priceOpen`),
    sl: finite(p.sl, `${at}.sl`),
    tp: finite(p.tp, `${at}.tp`),
    magic: integer(p.magic, `${at}.magic`),
    comment: text(p.comment, `${at}.comment`),
    openedAt: finite(p.openedAt, `${at}.openedAt`),
  };
}

function parseStoredResult(item: unknown, at: string): StoredTradeResult {
  const e = record(item, at);
  const r = record(e.result, `${at}.result`);
  const res = `${at}.result`;
  return {
    requestId: text(e.requestId, `${at}.requestId`),
    at: finite(e.at, `${at}.at`),
    result: {
      request_id: text(r.request_id, `${res}.request_id`),
      retcode: integer(r.retcode, `${res}.retcode`),
      order: integer(r.order, `${res}.order`),
      deal: integer(r.deal, `${res}.deal`),
      position: integer(r.position, `${res}.position`),
      volume: finite(r.volume, `${res}.volume`),
      price: finite(r.price, `${res}.price`),
      comment: text(r.comment, `${res}.comment`),
    },
  };
}

function record(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${name} must be an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${name} must be an array`);
  return value as unknown[];
}

function finite(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new Error(`${name} must be a finite number`);
  return value;
}

function positive(value: unknown, name: string): number {
  const n = finite(value, name);
  if (n <= 0) throw new Error(`${name} must be positive`);
  return n;
}

function integer(value: unknown, name: string): number {
  const n = finite(value, name);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer`);
  return n;
}

function wholeNumber(value: unknown, name: string): number {
  const n = integer(value, name);
  if (n < 0) throw new Error(`${name} must not be negative`);
  return n;
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new Error(`${name} must be a string`);
  return value;
}
