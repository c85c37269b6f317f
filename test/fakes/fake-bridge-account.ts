import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Retcode,
  seededRandom,
  type Deal,
  type DealReason,
  type Position,
  type SymbolInfo,
  type TradeResult,
} from '@app/core';
import { SIGNED_REQUEST_HEADER, SIGNED_REQUEST_MAX_SKEW_MS, verifyRequestSignature } from '@app/core';

/**
 * One account of the fake MT5 bridge: the bridge protocol (docs/mt5-bridge.openapi.yaml) over an
 * in-memory hedging account, with its own key id and secret, positions, deals, idempotency store,
 * prices and symbols, injected faults, request log and counters, as one terminal behind a bridge.
 *
 * The HTTP side is a `FakeBridgeHost` (fake-bridge-host.ts): a real server on 127.0.0.1 that hands
 * each request to the account its path prefix names, so the real axios, axios-retry and signing
 * code of the gateway runs in tests. A `FakeMt5Bridge` (fake-mt5-bridge.ts) is an account at the
 * root of a host of its own; `host.addAccount('t2')` makes one under `/t2` of a shared host.
 *
 * Fencing (docs/mt5-bridge.md): it keeps the highest X-Fencing-Token it has accepted and answers a
 * lower one `409 stale_fencing_token` right after the signature check, before any injected fault
 * and before an idempotent replay; a call without the header is accepted, an equal token too.
 *
 * Fills are at a fixed price per symbol (`setPrice`), no spread; profit is
 * (current - open) * volume * 100 000 for a buy, the opposite for a sell, in account currency.
 */

export type BridgeFault =
  /** Answer this status with an `{error,message}` body; nothing executes, nothing is stored. */
  | { kind: 'http'; status: number; retryAfterSeconds?: number }
  /** Destroy the socket before doing anything. */
  | { kind: 'reset' }
  /** Execute (and store) the request, then destroy the socket: the lost-answer case. */
  | { kind: 'reset_after_execute' }
  /** Execute (and store) at once, answer after `ms`. */
  | { kind: 'delay'; ms: number }
  /** A trade answers 200 with this retcode instead of trading; stored only when final. */
  | { kind: 'retcode'; retcode: number }
  /** 200 with a body that is not what the protocol promises (default: truncated JSON). */
  | { kind: 'garbage'; body?: string }
  /** Never answer (until `close()`). */
  | { kind: 'hang' };

export interface FaultMatcher {
  method?: 'GET' | 'POST';
  /** A string matches the whole path; a RegExp is tested against it. */
  path?: string | RegExp;
}

export interface BridgeRequestRecord {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  signatureOk: boolean;
  timestamp: string | undefined;
  body: string;
  fault: BridgeFault['kind'] | undefined;
  /** X-Fencing-Token as sent, when it was. */
  fencingToken: string | undefined;
  /** Refused with 409 stale_fencing_token: a lower token than one already seen. */
  fenced: boolean;
  /** performance.now() when the request was read, for benchmarks. */
  receivedAt: number;
}

export interface FakeMt5BridgeOptions {
  /** X-Api-Key it accepts: `test-key` at a root, `key-<prefix>` under a prefix by default. */
  keyId?: string;
  /** Random (16 bytes, hex) by default. */
  secret?: string;
  balance?: number;
  /** 123 at a root; under a prefix, a login of its own per account by default. */
  login?: number;
  currency?: string;
  /** Default fill price of every symbol. 1.1 when not given. */
  price?: number;
  /** The bridge's clock for the 30 s timestamp window (real time by default). */
  now?: () => number;
}

export interface SeedPosition {
  symbol: string;
  type: 'buy' | 'sell';
  volume: number;
  price_open?: number;
  sl?: number;
  tp?: number;
  magic?: number;
  comment?: string;
  ticket?: number;
}

/**
 * Random faults (broker chaos): each call that no `failNext` rule claims suffers, with probability
 * `rate`, one of `faults` picked uniformly; seeded, so a failing run can be replayed.
 */
export interface ChaosOptions {
  rate: number;
  faults: BridgeFault[];
  seed?: number;
  /** Which calls may suffer; every call when omitted. */
  matcher?: FaultMatcher;
}

/** One order that opened a position: the evidence of what the broker actually executed. */
export interface FillRecord {
  request_id: string;
  comment: string;
  ticket: number;
}

interface StoredPosition {
  ticket: number;
  symbol: string;
  type: 'buy' | 'sell';
  volume: number;
  price_open: number;
  sl: number;
  tp: number;
  magic: number;
  comment: string;
  time: string;
}

interface FaultRule {
  matcher: FaultMatcher;
  fault: BridgeFault;
  remaining: number;
}

export interface Answer {
  status: number;
  body: unknown;
}

/** What an account needs of the host that serves it (a `FakeBridgeHost`). */
export interface BridgeAccountHost {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly listening: boolean;
  listen(port?: number): Promise<unknown>;
  /** The whole host: listener closed and every connection dropped, or listening again on the same port. */
  setDown(down: boolean): Promise<void>;
  /** The whole host, for good. */
  close(): Promise<void>;
  /** Routes the account's prefix to it from now on; called by the account's constructor. */
  attach(account: FakeBridgeAccount): void;
  /** Its prefix answers 404 from now on. */
  detach(account: FakeBridgeAccount): void;
}

/** The `bridge` entry of an accounts file for one account (the secret is the test's to place). */
export interface AccountsFileBridge {
  url: string;
  key_id: string;
  secret: string;
}

class BadRequest extends Error {}

/** What a bridge makes of a call's X-Fencing-Token. */
type FencingVerdict = 'accepted' | 'stale' | 'malformed';

/** A decimal count, at most a JavaScript safe integer. */
const FENCING_TOKEN_PATTERN = /^\d{1,16}$/;
const FENCING_TOKEN_HEADER = 'X-Fencing-Token';

const CONTRACT_SIZE = 100_000;
/** Symbols the bridge knows without `setSymbol` or `setPrice`. */
const DEFAULT_SYMBOLS: ReadonlySet<string> = new Set(['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD']);

const round2 = (x: number): number => Math.round(x * 100) / 100;

export class FakeBridgeAccount {
  /** The path segment it is served under (`t2` for `/t2`), or '' at the root of its host. */
  readonly prefix: string;
  readonly keyId: string;
  readonly secret: string;
  /** Every request that reached the handler, in arrival order. */
  readonly requests: BridgeRequestRecord[] = [];
  /** Orders that actually opened a position. */
  fills = 0;
  /** Every fill, in order (positions closed since stay here): one per request id, by construction. */
  readonly fillLog: FillRecord[] = [];
  /** How many calls chaos mode failed, by fault kind. */
  readonly chaosCounts: Partial<Record<BridgeFault['kind'], number>> = {};

  private readonly host: BridgeAccountHost;
  private balance: number;
  private readonly login: number;
  private readonly currency: string;
  private readonly now: () => number;
  private defaultPrice: number;
  private readonly prices = new Map<string, number>();
  /** Specs set by `setSymbol`, over the defaults of `symbolInfo`. */
  private readonly symbolSpecs = new Map<string, Partial<SymbolInfo>>();
  private equityOverride: number | undefined;
  private connected = true;
  /** setDown(true) of an account under a prefix: its calls get their connection reset. */
  private refusing = false;
  /** Answers not sent yet (hanging, delayed, being handled): dropped when the account goes down or closes. */
  private readonly inFlight = new Set<ServerResponse>();
  private nextTicket = 1_001;
  private nextDeal = 9_001;
  private readonly open = new Map<number, StoredPosition>();
  private readonly stored = new Map<string, TradeResult>();
  private readonly orderKeys = new Set<string>();
  private faults: FaultRule[] = [];
  private chaos: (ChaosOptions & { next: () => number }) | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** The account's deal history, oldest first (GET /v1/deals). */
  private readonly dealLog: Deal[] = [];

  /** The highest X-Fencing-Token accepted so far (undefined: none seen). */
  private highestToken: number | undefined;

  /** Made by a host (`host.addAccount`), or by `new FakeMt5Bridge()` with a host of its own; attaches itself. */
  constructor(options: FakeMt5BridgeOptions, host: BridgeAccountHost, prefix: string) {
    this.prefix = prefix;
    this.host = host;
    this.keyId = options.keyId ?? (prefix === '' ? 'test-key' : `key-${prefix}`);
    this.secret = options.secret ?? randomBytes(16).toString('hex');
    this.balance = options.balance ?? 10_000;
    this.login = options.login ?? 123;
    this.currency = options.currency ?? 'USD';
    this.defaultPrice = options.price ?? 1.1;
    this.now = options.now ?? (() => Date.now());
    host.attach(this);
  }

  /** Its base URL: the host's, plus `/<prefix>` under a prefix (what MT5_BRIDGE_URL would be). */
  get url(): string {
    return this.prefix === '' ? this.host.url : `${this.host.url}/${this.prefix}`;
  }

  /** The environment that points the service's HTTP gateway at this bridge. */
  serviceEnv(): Record<string, string> {
    return {
      MT5_GATEWAY: 'http',
      MT5_BRIDGE_URL: this.url,
      MT5_BRIDGE_KEY_ID: this.keyId,
      MT5_BRIDGE_SECRET: this.secret,
    };
  }

  /** Its entry in an accounts file: `{ url, key_id, secret }` (put the secret where the file says). */
  accountsFileBridge(): AccountsFileBridge {
    return { url: this.url, key_id: this.keyId, secret: this.secret };
  }

  /** The highest X-Fencing-Token it accepted, or undefined when no call carried one. */
  get highestFencingToken(): number | undefined {
    return this.highestToken;
  }

  /** The calls it refused with 409 stale_fencing_token, in arrival order. */
  get fencedRequests(): BridgeRequestRecord[] {
    return this.requests.filter((r) => r.fenced);
  }

  /** As if it had already accepted `token` (a bridge that saw a newer owner before the test's client). */
  seeFencingToken(token: number): void {
    if (!Number.isSafeInteger(token) || token < 0) throw new RangeError(`bad fencing token ${token}`);
    this.highestToken = Math.max(this.highestToken ?? 0, token);
  }

  /** Distinct Idempotency-Key values seen on POST /v1/orders. */
  get distinctOrderKeys(): string[] {
    return [...this.orderKeys];
  }

  /** Starts the host listening (on `port`, any free one by default); nothing when it already listens. */
  async listen(port = 0): Promise<this> {
    if (this.prefix === '' || !this.host.listening) await this.host.listen(port);
    return this;
  }

  /** The next `times` requests matching `matcher` suffer `fault`; rules are checked in the order added. */
  failNext(matcher: FaultMatcher, fault: BridgeFault, times = 1): void {
    this.faults.push({ matcher, fault, remaining: times });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Random faults on every matching call from now on (`undefined`: off). */
  setChaos(options: ChaosOptions | undefined): void {
    this.chaos = options === undefined ? undefined : { ...options, next: seededRandom(options.seed ?? 1) };
  }

  /** `false`: the terminal lost its trade server (health says so, trades answer CONNECTION). */
  setConnected(connected: boolean): void {
    this.connected = connected;
  }

  /**
   * Down, at the root of its own host (`FakeMt5Bridge`): the listener is closed and open
   * connections dropped, so calls are refused (`connection_refused`); up again on the same port.
   *
   * Down, under a prefix of a shared host: the other accounts keep the listener, so this one
   * resets the connection of every call to it (its unanswered calls at once, new ones as they
   * arrive, before they are read or logged) until it is up again. The client sees
   * `connection_reset` rather than `connection_refused`: for a POST, an unknown outcome rather
   * than "not sent" (nothing executes either way).
   */
  async setDown(down: boolean): Promise<void> {
    if (this.prefix === '') return this.host.setDown(down);
    this.refusing = down;
    if (down) this.dropInFlight();
  }

  /** Whether its calls are reset (setDown under a prefix); for the host. */
  get refusesCalls(): boolean {
    return this.refusing;
  }

  /** Overrides the reported equity (undefined: balance plus floating profit again). */
  setEquity(equity: number | undefined): void {
    this.equityOverride = equity;
  }

  /** Price of one symbol, or of every symbol without its own when `symbol` is omitted. */
  setPrice(price: number, symbol?: string): void {
    if (symbol === undefined) this.defaultPrice = price;
    else this.prices.set(symbol, price);
  }

  /**
   * What GET /v1/symbols/{symbol} answers for `symbol` from now on: these fields over the
   * defaults (an FX-like pair: 100,000 a lot, 5 digits, so a tick is worth 1 per lot; 0.01 to
   * 100 lots in steps of 0.01). Also makes the symbol known.
   */
  setSymbol(symbol: string, spec: Partial<Omit<SymbolInfo, 'symbol'>> = {}): void {
    this.symbolSpecs.set(symbol, { ...this.symbolSpecs.get(symbol), ...spec });
  }

  /** The symbol's spec and quote, or undefined when the bridge does not know it (a 404). */
  symbolInfo(symbol: string): SymbolInfo | undefined {
    const spec = this.symbolSpecs.get(symbol);
    if (spec === undefined && !this.prices.has(symbol) && !DEFAULT_SYMBOLS.has(symbol)) return undefined;
    const price = this.priceOf(symbol);
    return {
      symbol,
      digits: 5,
      contract_size: CONTRACT_SIZE,
      tick_size: 0.00001,
      tick_value: 1,
      volume_min: 0.01,
      volume_max: 100,
      volume_step: 0.01,
      bid: price,
      ask: price,
      ...spec,
    };
  }

  positions(): Position[] {
    return [...this.open.values()].map((p) => this.view(p));
  }

  addPosition(seed: SeedPosition): Position {
    const ticket = seed.ticket ?? this.nextTicket++;
    const position: StoredPosition = {
      ticket,
      symbol: seed.symbol,
      type: seed.type,
      volume: seed.volume,
      price_open: seed.price_open ?? this.priceOf(seed.symbol),
      sl: seed.sl ?? 0,
      tp: seed.tp ?? 0,
      magic: seed.magic ?? 0,
      comment: seed.comment ?? '',
      time: new Date(this.now()).toISOString(),
    };
    this.open.set(ticket, position);
    return this.view(position);
  }

  /**
   * The position closes without the service asking: a stop loss or take profit the terminal
   * triggered (`sl`, `tp`), a margin stop-out (`so`), or a person (`client`). At `price`, or the
   * current price of its symbol.
   */
  closeWithoutRequest(ticket: number, reason: DealReason, price?: number): void {
    const position = this.open.get(ticket);
    if (position === undefined) throw new Error(`no open position ${ticket}`);
    this.settleClose(
      position,
      position.volume,
      price ?? this.priceOf(position.symbol),
      reason,
      this.nextTicket++,
    );
  }

  /** Every deal so far, oldest first. */
  deals(): Deal[] {
    return this.dealLog.map((d) => ({ ...d }));
  }

  /** The stored outcome of a request id, if any. */
  storedResult(requestId: string): TradeResult | undefined {
    const result = this.stored.get(requestId);
    return result === undefined ? undefined : { ...result };
  }

  /**
   * Answers a `delay` fault still holds back. 0: every late answer has gone out (or found its
   * connection closed), so whatever it could do to the service has happened.
   */
  get delayedAnswersPending(): number {
    return this.timers.size;
  }

  requestsTo(method: string, path: string | RegExp): BridgeRequestRecord[] {
    return this.requests.filter(
      (r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)),
    );
  }

  /**
   * At the root of its own host: closes the host (listener and every connection). Under a
   * prefix: drops its unanswered calls and leaves the host, whose other accounts go on; its
   * prefix answers 404 from now on (and may be added again).
   */
  async close(): Promise<void> {
    this.release();
    if (this.prefix === '') return this.host.close();
    this.host.detach(this);
  }

  /** Cancels its delayed answers and drops its unanswered calls; for the host's close. */
  release(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.dropInFlight();
  }

  private dropInFlight(): void {
    for (const res of this.inFlight) res.req.socket.destroy();
    this.inFlight.clear();
  }

  /**
   * One call, routed here by the host: `target` is the request target as received (prefix and
   * query included, what the signature covers), `path` the path below the prefix (what the
   * routes, the fault matchers and the request log see).
   */
  serve(req: IncomingMessage, res: ServerResponse, target: string, path: string, body: string): void {
    this.inFlight.add(res);
    res.once('close', () => this.inFlight.delete(res));
    const method = req.method ?? 'GET';
    const header = (name: string): string | undefined => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    };
    const timestamp = header(SIGNED_REQUEST_HEADER.timestamp);
    const signatureOk =
      header(SIGNED_REQUEST_HEADER.apiKey) === this.keyId &&
      timestamp !== undefined &&
      verifyRequestSignature(
        this.secret,
        { timestamp, method, pathWithQuery: target, body },
        header(SIGNED_REQUEST_HEADER.signature),
      );
    const idempotencyKey = header(SIGNED_REQUEST_HEADER.idempotencyKey);
    const skewOk =
      timestamp !== undefined &&
      /^\d+$/.test(timestamp) &&
      Math.abs(this.now() - Number(timestamp)) <= SIGNED_REQUEST_MAX_SKEW_MS;
    const fencingToken = header(FENCING_TOKEN_HEADER);
    // Only a signed call may move the fence; a fenced one takes no fault and reaches nothing else.
    const verdict: FencingVerdict = signatureOk && skewOk ? this.fence(fencingToken) : 'accepted';
    const rule = verdict === 'accepted' ? this.takeFault(method, path) : undefined;
    this.requests.push({
      method,
      path,
      idempotencyKey,
      signatureOk,
      timestamp,
      body,
      fault: rule?.kind,
      fencingToken,
      fenced: verdict === 'stale',
      receivedAt: performance.now(),
    });

    if (!signatureOk || !skewOk) {
      const message = signatureOk ? 'timestamp outside the 30 s window' : 'bad key or signature';
      return sendJson(res, { status: 401, body: { error: 'unauthorized', message } });
    }
    if (verdict === 'malformed')
      return sendJson(res, {
        status: 400,
        body: { error: 'bad_request', message: `${FENCING_TOKEN_HEADER} must be an integer >= 0` },
      });
    if (verdict === 'stale')
      return sendJson(res, {
        status: 409,
        body: {
          error: 'stale_fencing_token',
          message: `${FENCING_TOKEN_HEADER} ${fencingToken ?? ''} is below ${this.highestToken ?? 0}: another process owns this account`,
        },
      });

    switch (rule?.kind) {
      case 'http':
        if (rule.retryAfterSeconds !== undefined)
          res.setHeader('Retry-After', String(rule.retryAfterSeconds));
        return sendJson(res, {
          status: rule.status,
          body: { error: `http_${rule.status}`, message: 'injected fault' },
        });
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        return;
      case 'garbage':
        return sendJson(
          res,
          { status: 200, body: undefined },
          rule.body ?? '{"request_id": "x", "retcode": ',
        );
      case 'reset_after_execute':
      case 'delay':
      case 'retcode':
      case undefined:
        break;
    }

    const answer = this.route(
      method,
      path,
      new URLSearchParams(target.split('?')[1] ?? ''),
      body,
      idempotencyKey,
      rule?.kind === 'retcode' ? rule.retcode : undefined,
    );
    if (rule?.kind === 'reset_after_execute') {
      req.socket.destroy();
      return;
    }
    if (rule?.kind === 'delay') {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        sendJson(res, answer);
      }, rule.ms);
      this.timers.add(timer);
      return;
    }
    sendJson(res, answer);
  }

  /** Accepts a missing, equal or higher token (raising the mark); refuses a lower one. */
  private fence(token: string | undefined): FencingVerdict {
    if (token === undefined) return 'accepted';
    if (!FENCING_TOKEN_PATTERN.test(token) || !Number.isSafeInteger(Number(token))) return 'malformed';
    const value = Number(token);
    if (this.highestToken !== undefined && value < this.highestToken) return 'stale';
    this.highestToken = value;
    return 'accepted';
  }

  private route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: string,
    idempotencyKey: string | undefined,
    forcedRetcode: number | undefined,
  ): Answer {
    try {
      if (method === 'GET' && path === '/v1/health')
        return { status: 200, body: { connected: this.connected } };
      if (method === 'GET' && path === '/v1/account') return { status: 200, body: this.account() };
      if (method === 'GET' && path === '/v1/positions')
        return { status: 200, body: { positions: this.positions() } };
      const symbol = /^\/v1\/symbols\/([^/]+)$/.exec(path);
      if (method === 'GET' && symbol !== null) {
        const info = this.symbolInfo(decodeURIComponent(symbol[1] ?? ''));
        return info === undefined
          ? { status: 404, body: { error: 'unknown_symbol', message: `no symbol ${symbol[1]}` } }
          : { status: 200, body: info };
      }
      if (method === 'GET' && path === '/v1/deals') {
        const position = Number(query.get('position'));
        if (!Number.isSafeInteger(position) || position <= 0)
          throw new BadRequest('position must be a positive integer');
        return { status: 200, body: { deals: this.dealLog.filter((d) => d.position === position) } };
      }
      if (method === 'POST' && path === '/v1/orders') {
        const request = this.tradeRequest(body, idempotencyKey);
        this.orderKeys.add(request.request_id);
        return {
          status: 200,
          body: this.idempotent(request.request_id, forcedRetcode, () => this.fillOrder(request)),
        };
      }
      const close = /^\/v1\/positions\/(\d+)\/close$/.exec(path);
      if (method === 'POST' && close !== null) {
        const request = this.tradeRequest(body, idempotencyKey);
        const ticket = Number(close[1]);
        return {
          status: 200,
          body: this.idempotent(request.request_id, forcedRetcode, () => this.closePosition(ticket, request)),
        };
      }
      return { status: 404, body: { error: 'not_found', message: `${method} ${path}` } };
    } catch (error) {
      if (error instanceof BadRequest)
        return { status: 400, body: { error: 'bad_request', message: error.message } };
      throw error;
    }
  }

  /** Stored outcomes repeat; transient ones (and the injected retcode when transient) are not stored. */
  private idempotent(
    requestId: string,
    forcedRetcode: number | undefined,
    execute: () => TradeResult,
  ): TradeResult {
    const seen = this.stored.get(requestId);
    if (seen !== undefined) return { ...seen };
    let result: TradeResult;
    if (forcedRetcode !== undefined) result = failure(requestId, forcedRetcode, 'injected retcode');
    else if (!this.connected)
      result = failure(requestId, Retcode.CONNECTION, 'No connection with the trade server');
    else result = execute();
    if (!TRANSIENT_RETCODES.has(result.retcode)) this.stored.set(requestId, { ...result });
    return result;
  }

  private tradeRequest(
    body: string,
    idempotencyKey: string | undefined,
  ): Record<string, unknown> & { request_id: string } {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new BadRequest('body is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new BadRequest('body must be an object');
    const record = parsed as Record<string, unknown>;
    const requestId = record.request_id;
    if (typeof requestId !== 'string' || requestId.length === 0)
      throw new BadRequest('request_id is required');
    if (idempotencyKey !== requestId) throw new BadRequest('Idempotency-Key must equal request_id');
    return { ...record, request_id: requestId };
  }

  private fillOrder(request: Record<string, unknown> & { request_id: string }): TradeResult {
    const id = request.request_id;
    const { symbol, type, volume } = request;
    if (typeof symbol !== 'string' || symbol.length === 0)
      return failure(id, Retcode.INVALID, 'Invalid symbol');
    if (type !== 'buy' && type !== 'sell') return failure(id, Retcode.INVALID, 'Invalid type');
    if (typeof volume !== 'number' || !Number.isFinite(volume) || volume <= 0)
      return failure(id, Retcode.INVALID_VOLUME, 'Invalid volume');
    const price = this.priceOf(symbol);
    const ticket = this.nextTicket++;
    this.open.set(ticket, {
      ticket,
      symbol,
      type,
      volume,
      price_open: price,
      sl: numberOr0(request.sl),
      tp: numberOr0(request.tp),
      magic: numberOr0(request.magic),
      comment: typeof request.comment === 'string' ? request.comment : '',
      time: new Date(this.now()).toISOString(),
    });
    this.fills += 1;
    this.fillLog.push({
      request_id: id,
      comment: typeof request.comment === 'string' ? request.comment : '',
      ticket,
    });
    const deal = this.recordDeal(
      this.open.get(ticket) as StoredPosition,
      'in',
      volume,
      price,
      0,
      'expert',
      ticket,
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

  private closePosition(
    ticket: number,
    request: Record<string, unknown> & { request_id: string },
  ): TradeResult {
    const id = request.request_id;
    const position = this.open.get(ticket);
    if (position === undefined)
      return { ...failure(id, Retcode.POSITION_CLOSED, "Position doesn't exist"), position: ticket };
    const volume = request.volume === undefined ? position.volume : request.volume;
    if (
      typeof volume !== 'number' ||
      !Number.isFinite(volume) ||
      volume <= 0 ||
      volume > position.volume + 1e-9
    ) {
      return { ...failure(id, Retcode.INVALID_VOLUME, 'Invalid volume'), position: ticket };
    }
    const price = this.priceOf(position.symbol);
    const order = this.nextTicket++;
    const deal = this.settleClose(position, volume, price, 'expert', order);
    return {
      request_id: id,
      retcode: Retcode.DONE,
      order,
      deal,
      position: ticket,
      volume,
      price,
      comment: 'Request executed',
    };
  }

  /** Books the profit, shrinks or removes the position, and records the closing deal; returns its ticket. */
  private settleClose(
    position: StoredPosition,
    volume: number,
    price: number,
    reason: DealReason,
    order: number,
  ): number {
    const profit = this.profit(position, volume, price);
    this.balance = round2(this.balance + profit);
    const remaining = Math.round((position.volume - volume) * 100) / 100;
    if (remaining > 0) position.volume = remaining;
    else this.open.delete(position.ticket);
    return this.recordDeal(position, 'out', volume, price, profit, reason, order);
  }

  private recordDeal(
    position: StoredPosition,
    entry: 'in' | 'out',
    volume: number,
    price: number,
    profit: number,
    reason: DealReason,
    order: number,
  ): number {
    const ticket = this.nextDeal++;
    const opening = position.type;
    this.dealLog.push({
      ticket,
      order,
      position: position.ticket,
      symbol: position.symbol,
      type: entry === 'in' ? opening : opening === 'buy' ? 'sell' : 'buy',
      entry,
      volume,
      price,
      profit,
      reason,
      magic: position.magic,
      comment: position.comment,
      time: new Date(this.now()).toISOString(),
    });
    return ticket;
  }

  private account(): Record<string, unknown> {
    const floating = [...this.open.values()].reduce(
      (sum, p) => sum + this.profit(p, p.volume, this.priceOf(p.symbol)),
      0,
    );
    const equity = this.equityOverride ?? round2(this.balance + floating);
    const margin = round2(
      [...this.open.values()].reduce((sum, p) => sum + (p.volume * CONTRACT_SIZE * p.price_open) / 100, 0),
    );
    return {
      login: this.login,
      currency: this.currency,
      balance: this.balance,
      equity,
      margin,
      margin_free: round2(equity - margin),
      server_time: new Date(this.now()).toISOString(),
    };
  }

  private view(p: StoredPosition): Position {
    const current = this.priceOf(p.symbol);
    return { ...p, price_current: current, profit: this.profit(p, p.volume, current) };
  }

  private profit(p: StoredPosition, volume: number, price: number): number {
    const sign = p.type === 'buy' ? 1 : -1;
    return round2(sign * (price - p.price_open) * volume * CONTRACT_SIZE);
  }

  private priceOf(symbol: string): number {
    return this.prices.get(symbol) ?? this.defaultPrice;
  }

  private takeFault(method: string, path: string): BridgeFault | undefined {
    const rule = this.faults.find((r) => r.remaining > 0 && matches(r.matcher, method, path));
    if (rule === undefined) return this.chaosFault(method, path);
    rule.remaining -= 1;
    this.faults = this.faults.filter((r) => r.remaining > 0);
    return rule.fault;
  }

  private chaosFault(method: string, path: string): BridgeFault | undefined {
    const chaos = this.chaos;
    if (chaos === undefined || chaos.faults.length === 0) return undefined;
    if (chaos.matcher !== undefined && !matches(chaos.matcher, method, path)) return undefined;
    if (chaos.next() >= chaos.rate) return undefined;
    const fault = chaos.faults[Math.floor(chaos.next() * chaos.faults.length)];
    if (fault !== undefined) this.chaosCounts[fault.kind] = (this.chaosCounts[fault.kind] ?? 0) + 1;
    return fault;
  }
}

/** Writes a JSON answer (or `raw` as it is), unless the connection is gone or already answered. */
export function sendJson(res: ServerResponse, answer: Answer, raw?: string): void {
  if (res.destroyed || res.writableEnded) return;
  const text = raw ?? JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

const TRANSIENT_RETCODES: ReadonlySet<number> = new Set([
  Retcode.REQUOTE,
  Retcode.PRICE_CHANGED,
  Retcode.PRICE_OFF,
  Retcode.TOO_MANY_REQUESTS,
  Retcode.CONNECTION,
]);

function matches(matcher: FaultMatcher, method: string, path: string): boolean {
  if (matcher.method !== undefined && matcher.method !== method) return false;
  if (matcher.path === undefined) return true;
  return typeof matcher.path === 'string' ? matcher.path === path : matcher.path.test(path);
}

function failure(requestId: string, retcode: number, comment: string): TradeResult {
  return { request_id: requestId, retcode, order: 0, deal: 0, position: 0, volume: 0, price: 0, comment };
}

function numberOr0(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
