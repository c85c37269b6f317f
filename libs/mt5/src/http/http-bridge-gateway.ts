import http from 'node:http';
import https from 'node:https';
import axios, {
  type AxiosError,
  type AxiosInstance,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import axiosRetry, { exponentialDelay } from 'axios-retry';
import type { z } from 'zod';
import {
  fail,
  MAX_COMMENT_LENGTH,
  ok,
  type AccountInfo,
  type BrokerGateway,
  type BrokerHealth,
  type BrokerResult,
  type ClosePositionRequest,
  type Clock,
  type Deal,
  type OpenOrderRequest,
  type Position,
  type SymbolInfo,
  type TradeResult,
} from '@app/core';
import { SIGNED_REQUEST_HEADER, signRequest } from '@app/core';
import {
  accountSchema,
  dealsSchema,
  errorBodySchema,
  healthSchema,
  positionsSchema,
  symbolInfoSchema,
  tradeResultSchema,
} from './bridge-schemas';
import { describeIssues, snippet } from '@app/common';
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker';

export interface HttpBridgeGatewayOptions {
  /** MT5_BRIDGE_URL, e.g. `http://10.0.0.5:8080`; a path prefix is kept and signed. */
  baseUrl: string;
  /** MT5_BRIDGE_KEY_ID, sent as X-Api-Key. */
  keyId: string;
  /** MT5_BRIDGE_SECRET; signs requests, never sent nor logged. */
  secret: string;
  /** MT5_TIMEOUT_MS, per attempt. */
  timeoutMs: number;
  /** MT5_MAX_RETRIES: retries of a read that failed in transit (orders are retried by the executor). */
  maxRetries: number;
  /** Base of the exponential backoff (retry n waits about base * 2^n, plus up to 20 % jitter). Default 100. */
  retryBaseDelayMs?: number;
  /** Upper bound of one backoff wait, Retry-After included. Default 2000. */
  maxRetryDelayMs?: number;
  circuit?: Partial<CircuitBreakerOptions>;
  /**
   * Requests in flight to this bridge at once (sockets); more wait their turn here. Per account, so
   * a hanging terminal ties up its own sockets, never another account's (docs/accounts.md, Isolation).
   * Default 16.
   */
  maxConcurrent?: number;
  /**
   * The account's ownership epoch, read before every POST and sent as X-Fencing-Token
   * (docs/mt5-bridge.md, Fencing). Undefined, or answering undefined: no header (single-process mode).
   */
  fencingToken?: () => number | undefined;
  /**
   * Told of every `409 stale_fencing_token`, as it happens: the account belongs to another
   * process now, whichever call (an open, a close, a halt's close-all) found out.
   */
  onFenced?: (refusal: { method: string; path: string; requestId?: string; message: string }) => void;
}

/** Pino-style (`warn(obj, msg)`); Nest's Logger fits as well. */
export interface BridgeLogger {
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

/** How a request ended without an answer. The first two mean "the bridge may have acted on it". */
type TransportCode = 'timeout' | 'connection_reset' | 'network_error' | 'connection_refused' | 'unreachable';
const NOT_SENT: ReadonlySet<TransportCode> = new Set(['connection_refused', 'unreachable']);

/** Error codes of Node/axios that mean the transport failed and a retry may help. */
const RETRYABLE_TRANSPORT_CODES = new Set([
  'ETIMEDOUT',
  'ECONNABORTED',
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_NETWORK',
]);

/** Requests in flight to one bridge at once, by default. */
const DEFAULT_MAX_CONCURRENT = 16;

/** What an MT5 symbol name looks like (letters, digits and the few marks brokers use). */
const SYMBOL_PATTERN = /^[A-Za-z0-9._#+-]{1,32}$/;

/** The header a bridge fences writes by (docs/mt5-bridge.md, Fencing). */
export const FENCING_TOKEN_HEADER = 'X-Fencing-Token';

/** The error code of a bridge's 409 to a token lower than one it has seen, and of the final BrokerError it becomes. */
export const STALE_FENCING_TOKEN = 'stale_fencing_token';

/** Visible ASCII only: the id travels in a header and in the order comment. */
const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

interface CallSpec<T> {
  method: 'GET' | 'POST';
  path: string;
  body?: Record<string, unknown>;
  /** Set for POSTs: the request id, sent as Idempotency-Key. */
  requestId?: string;
  schema: z.ZodType<T>;
  /** A check beyond the shape; returns what is wrong, or undefined. */
  check?: (value: T) => string | undefined;
}

/** A call's result plus whether it counts as a transport failure for the circuit breaker. */
interface CallOutcome<T> {
  result: BrokerResult<T>;
  transportFailure: boolean;
}

/** Per-call bookkeeping filled in by axios-retry's onRetry. */
interface AttemptLog {
  retries: number;
}

/**
 * The broker port over the MT5 bridge protocol (docs/mt5-bridge.openapi.yaml).
 *
 * - Every attempt is signed anew (fresh X-Timestamp) in a request interceptor, over the exact
 *   body string sent.
 * - Reads (GET) are retried here by axios-retry after a network error, a timeout, 429 or 5xx, with
 *   exponential backoff and jitter. Orders and closes are sent ONCE per call: the order executor
 *   owns their retries (same request id, at most MT5_MAX_RETRIES), so one order never costs more
 *   than MT5_MAX_RETRIES + 1 POSTs (docs/mt5-bridge.md, Retries).
 * - Failures come back as `BrokerResult` values; a POST that may have reached the terminal and
 *   got no answer is `unknown_outcome`, never `transient`.
 * - Trade retcodes are returned as they are (REQUOTE included): retrying retcodes is the order
 *   executor's business, not the transport's.
 * - A circuit breaker fails calls fast while the bridge is down; a health probe closes it.
 * - With a fencing token source, every POST carries X-Fencing-Token; the bridge's
 *   `409 stale_fencing_token` (another process owns the account now) is final, never retried and
 *   not a transport failure.
 */
export class HttpBridgeGateway implements BrokerGateway {
  private readonly http: AxiosInstance;
  private readonly circuit: CircuitBreaker;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private staleFencingRefusals = 0;

  constructor(
    private readonly options: HttpBridgeGatewayOptions,
    private readonly clock: Clock,
    private readonly logger?: BridgeLogger,
  ) {
    if (!(options.timeoutMs > 0))
      throw new RangeError(`bridge timeoutMs must be positive, got ${options.timeoutMs}`);
    if (!Number.isInteger(options.maxRetries) || options.maxRetries < 0)
      throw new RangeError(`bridge maxRetries must be an integer >= 0, got ${options.maxRetries}`);
    this.circuit = new CircuitBreaker(clock, options.circuit);
    const maxSockets = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets });
    this.http = axios.create({
      baseURL: options.baseUrl,
      timeout: options.timeoutMs,
      // The body is serialised by us and signed as sent: no axios transformation either way.
      transformRequest: [(data: unknown) => data],
      transformResponse: [(data: unknown) => data],
      responseType: 'text',
      // A redirect would change the signed path; the bridge has no reason to send one.
      maxRedirects: 0,
      // The bridge sits next to the terminal; an environment proxy must not intercept signed orders.
      proxy: false,
      // Timeouts become ETIMEDOUT, distinct from an aborted request.
      transitional: { clarifyTimeoutError: true },
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
    });
    // axios-retry re-sends through the instance, so this runs (and signs anew) on every attempt.
    this.http.interceptors.request.use((config) => this.sign(config));
    const baseDelay = options.retryBaseDelayMs ?? 100;
    const maxDelay = options.maxRetryDelayMs ?? 2_000;
    axiosRetry(this.http, {
      retries: options.maxRetries,
      retryCondition: isRetryableBridgeError,
      // exponentialDelay adds 0-20 % jitter and honours Retry-After; the cap keeps a 429 from stalling an order.
      retryDelay: (retryCount, error) => Math.min(exponentialDelay(retryCount, error, baseDelay), maxDelay),
      // Each attempt gets the full MT5_TIMEOUT_MS (the default would share one budget across attempts).
      shouldResetTimeout: true,
    });
  }

  circuitState(): CircuitState {
    return this.circuit.state();
  }

  /** Writes the bridge refused as fenced (409 stale_fencing_token) since this gateway was made. */
  get fencedWrites(): number {
    return this.staleFencingRefusals;
  }

  /** Releases pooled keep-alive sockets (tests, shutdown). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  health(): Promise<BrokerResult<BrokerHealth>> {
    return this.guarded(true, () => this.healthCall());
  }

  account(): Promise<BrokerResult<AccountInfo>> {
    return this.guarded(false, () =>
      this.send<AccountInfo>({ method: 'GET', path: '/v1/account', schema: accountSchema }),
    );
  }

  async positions(): Promise<BrokerResult<Position[]>> {
    const listed = await this.guarded(false, () =>
      this.send<{ positions: Position[] }>({ method: 'GET', path: '/v1/positions', schema: positionsSchema }),
    );
    return listed.ok ? ok(listed.value.positions) : listed;
  }

  async deals(position: number): Promise<BrokerResult<Deal[]>> {
    if (!Number.isSafeInteger(position) || position <= 0)
      return fail(
        'final',
        'invalid_request',
        `deals: position must be a positive integer, got ${position}`,
        0,
      );
    const listed = await this.guarded(false, () =>
      this.send<{ deals: Deal[] }>({
        method: 'GET',
        path: `/v1/deals?position=${position}`,
        schema: dealsSchema,
        check: ({ deals }) =>
          deals.every((deal) => deal.position === position)
            ? undefined
            : `a deal of another position than ${position}`,
      }),
    );
    return listed.ok ? ok(listed.value.deals) : listed;
  }

  async symbol(name: string): Promise<BrokerResult<SymbolInfo>> {
    if (!SYMBOL_PATTERN.test(name))
      return fail('final', 'invalid_request', `symbol: not a symbol name: ${JSON.stringify(name)}`, 0);
    const info = await this.guarded(false, () =>
      this.send<SymbolInfo>({
        method: 'GET',
        path: `/v1/symbols/${encodeURIComponent(name)}`,
        schema: symbolInfoSchema,
        check: (answer) =>
          answer.symbol !== name
            ? `symbol ${JSON.stringify(answer.symbol)} answered for ${JSON.stringify(name)}`
            : answer.volume_min > answer.volume_max
              ? `volume_min ${answer.volume_min} above volume_max ${answer.volume_max}`
              : undefined,
      }),
    );
    return info;
  }

  async openPosition(request: OpenOrderRequest): Promise<BrokerResult<TradeResult>> {
    const refused = checkRequestId(request.request_id);
    if (refused) return refused;
    // The comment carries the request id so a position can be found after a lost answer.
    const comment = (
      request.comment !== undefined && request.comment.length > 0 ? request.comment : request.request_id
    ).slice(0, MAX_COMMENT_LENGTH);
    const body: Record<string, unknown> = {
      request_id: request.request_id,
      symbol: request.symbol,
      type: request.type,
      volume: request.volume,
    };
    if (request.sl !== undefined) body.sl = request.sl;
    if (request.tp !== undefined) body.tp = request.tp;
    if (request.deviation !== undefined) body.deviation = request.deviation;
    if (request.magic !== undefined) body.magic = request.magic;
    body.comment = comment;
    return this.guarded(false, () => this.trade('/v1/orders', request.request_id, body));
  }

  async closePosition(request: ClosePositionRequest): Promise<BrokerResult<TradeResult>> {
    const refused = checkRequestId(request.request_id);
    if (refused) return refused;
    if (!Number.isSafeInteger(request.ticket) || request.ticket <= 0) {
      return fail(
        'final',
        'invalid_request',
        `close: ticket must be a positive integer, got ${String(request.ticket)}`,
        0,
      );
    }
    const body: Record<string, unknown> = { request_id: request.request_id };
    if (request.volume !== undefined) body.volume = request.volume;
    if (request.deviation !== undefined) body.deviation = request.deviation;
    return this.guarded(false, () =>
      this.trade(`/v1/positions/${request.ticket}/close`, request.request_id, body),
    );
  }

  private healthCall(): Promise<CallOutcome<BrokerHealth>> {
    return this.send<BrokerHealth>({ method: 'GET', path: '/v1/health', schema: healthSchema });
  }

  private trade(
    path: string,
    requestId: string,
    body: Record<string, unknown>,
  ): Promise<CallOutcome<TradeResult>> {
    return this.send<TradeResult>({
      method: 'POST',
      path,
      body,
      requestId,
      schema: tradeResultSchema,
      check: (result) =>
        result.request_id === requestId
          ? undefined
          : `request_id ${JSON.stringify(result.request_id)} does not echo the one sent`,
    });
  }

  /**
   * The circuit breaker around one call. Closed: the call runs. Half-open: one health probe runs
   * (the call itself when it is `health()`, otherwise a probe first); if it succeeds the call
   * goes on. Open, or a probe already running: fail fast.
   */
  private async guarded<T>(isHealth: boolean, run: () => Promise<CallOutcome<T>>): Promise<BrokerResult<T>> {
    if (this.circuit.canPass()) return this.settle(await run());
    if (this.circuit.tryAcquireProbe()) {
      if (isHealth) return this.settle(await run());
      const probe = this.settle(await this.healthCall());
      if (!this.circuit.canPass()) {
        return fail(
          'transient',
          'circuit_open',
          `MT5 bridge circuit open; health probe failed: ${probe.ok ? 'ok' : probe.error.message}`,
          0,
        );
      }
      return this.settle(await run());
    }
    return fail(
      'transient',
      'circuit_open',
      `MT5 bridge circuit open after ${this.circuit.failures} consecutive transport failures; next probe in ${this.circuit.retryInMs()} ms`,
      0,
    );
  }

  private settle<T>(outcome: CallOutcome<T>): BrokerResult<T> {
    const before = this.circuit.state();
    if (outcome.transportFailure) this.circuit.recordFailure();
    else this.circuit.recordSuccess();
    const after = this.circuit.state();
    // Log on change only, so a long outage is one line, not one per call.
    if (before !== after) {
      const error = outcome.result.ok ? undefined : outcome.result.error;
      const msg =
        after === 'closed'
          ? 'MT5 bridge circuit closed: the bridge answers again'
          : 'MT5 bridge circuit opened: failing calls fast';
      this.logger?.warn(
        { circuit: after, previous: before, consecutive_failures: this.circuit.failures, error },
        msg,
      );
    }
    return outcome.result;
  }

  private async send<T>(spec: CallSpec<T>): Promise<CallOutcome<T>> {
    const log: AttemptLog = { retries: 0 };
    const data = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const headers: Record<string, string> = {};
    if (data !== undefined) headers['Content-Type'] = 'application/json';
    if (spec.requestId !== undefined) headers[SIGNED_REQUEST_HEADER.idempotencyKey] = spec.requestId;
    if (spec.method === 'POST') {
      const token = this.options.fencingToken?.();
      if (token !== undefined) {
        // A token that is not a count is a bug upstream; sending without it would disarm the fence.
        if (!Number.isSafeInteger(token) || token < 0)
          return {
            result: fail(
              'final',
              'invalid_fencing_token',
              `${describeCall(spec)}: fencing token must be an integer >= 0, got ${String(token)}; not sent`,
              0,
            ),
            transportFailure: false,
          };
        headers[FENCING_TOKEN_HEADER] = String(token);
      }
    }
    try {
      const response = await this.http.request<string>({
        method: spec.method,
        url: spec.path,
        data,
        headers,
        'axios-retry': {
          onRetry: (retryCount, error) => {
            log.retries = retryCount;
            this.logger?.debug?.(
              {
                method: spec.method,
                path: spec.path,
                request_id: spec.requestId,
                retry: retryCount,
                status: error.response?.status,
                code: error.code,
              },
              'retrying MT5 bridge request',
            );
          },
        },
      });
      return { result: this.parse(spec, response, log.retries + 1), transportFailure: false };
    } catch (error) {
      return this.translate(spec, error, log);
    }
  }

  private parse<T>(spec: CallSpec<T>, response: AxiosResponse<string>, attempts: number): BrokerResult<T> {
    const text = typeof response.data === 'string' ? response.data : '';
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return this.invalid(
        spec,
        `HTTP ${response.status} body is not JSON (${errorText(error)}): ${snippet(text)}`,
        attempts,
      );
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success)
      return this.invalid(
        spec,
        `unexpected body: ${describeIssues(parsed.error)}; body ${snippet(text)}`,
        attempts,
      );
    const problem = spec.check?.(parsed.data);
    if (problem !== undefined) return this.invalid(spec, `${problem}; body ${snippet(text)}`, attempts);
    return ok(parsed.data);
  }

  private invalid<T>(spec: CallSpec<T>, detail: string, attempts: number): BrokerResult<T> {
    const message = `${describeCall(spec)}: ${detail}`;
    this.logger?.warn(
      { method: spec.method, path: spec.path, request_id: spec.requestId, attempts },
      `MT5 bridge answer refused: ${message}`,
    );
    return fail('invalid_response', 'bad_body', message, attempts);
  }

  private translate<T>(spec: CallSpec<T>, error: unknown, log: AttemptLog): CallOutcome<T> {
    const attempts = log.retries + 1;
    const where = describeCall(spec);
    const isPost = spec.method === 'POST';
    if (!axios.isAxiosError(error)) {
      // Not a transport error: a bug on our side (e.g. a bad base URL). The order was most likely
      // not sent, but a POST cannot prove it, so the caller reconciles.
      this.logger?.warn(
        { method: spec.method, path: spec.path, request_id: spec.requestId, error: errorText(error) },
        'MT5 bridge request failed in the client',
      );
      return {
        result: fail(
          isPost ? 'unknown_outcome' : 'transient',
          'client_error',
          `${where}: ${errorText(error)}`,
          attempts,
        ),
        transportFailure: false,
      };
    }
    const response = error.response;
    if (response !== undefined) {
      const status = response.status;
      const detail = `${where}: HTTP ${status}${errorBodyText(response.data)} after ${attempts} attempt(s)`;
      // A 5xx to an order or close may come after the terminal was called (the reference bridge
      // answers 503 when order_send raised or returned nothing): it may have executed, so it is
      // retried under the same id like any transient answer, and settled by listing if it stays so.
      if (isPost && status >= 500)
        return {
          result: fail(
            'unknown_outcome',
            `http_${status}`,
            `${detail}; the order may have executed`,
            attempts,
          ),
          transportFailure: true,
        };
      if (status === 429 || status >= 500)
        return {
          result: fail('transient', `http_${status}`, detail, attempts),
          transportFailure: status >= 500,
        };
      if (status === 401)
        return { result: fail('final', 'unauthorized', detail, attempts), transportFailure: false };
      // Another process owns the account now: final, so the caller stops trading it.
      if (status === 409 && errorBodyOf(response.data)?.error === STALE_FENCING_TOKEN) {
        this.staleFencingRefusals += 1;
        this.logger?.warn(
          { method: spec.method, path: spec.path, request_id: spec.requestId },
          `MT5 bridge refused a stale fencing token: ${detail}`,
        );
        this.options.onFenced?.({
          method: spec.method,
          path: spec.path,
          ...(spec.requestId === undefined ? {} : { requestId: spec.requestId }),
          message: detail,
        });
        return { result: fail('final', STALE_FENCING_TOKEN, detail, attempts), transportFailure: false };
      }
      // A symbol the terminal does not know; any other 404 (a wrong path prefix, say) stays http_404.
      if (status === 404 && errorBodyOf(response.data)?.error === 'unknown_symbol')
        return { result: fail('final', 'unknown_symbol', detail, attempts), transportFailure: false };
      return { result: fail('final', `http_${status}`, detail, attempts), transportFailure: false };
    }
    const code = transportCode(error);
    const detail = `${where}: ${code} (${error.code ?? 'no code'}: ${error.message}) after ${attempts} attempt(s)`;
    // A POST that left and got no answer may have reached the terminal: the caller settles it.
    if (!isPost || NOT_SENT.has(code))
      return { result: fail('transient', code, detail, attempts), transportFailure: true };
    return {
      result: fail('unknown_outcome', code, `${detail}; the order may have executed`, attempts),
      transportFailure: true,
    };
  }

  private sign(config: InternalAxiosRequestConfig): InternalAxiosRequestConfig {
    // Sign the target exactly as it goes on the wire, base URL path prefix and query included.
    const target = new URL(this.http.getUri(config));
    const timestamp = String(this.clock.now());
    const body = typeof config.data === 'string' ? config.data : '';
    const signature = signRequest(this.options.secret, {
      timestamp,
      method: config.method ?? 'get',
      pathWithQuery: `${target.pathname}${target.search}`,
      body,
    });
    config.headers.set(SIGNED_REQUEST_HEADER.apiKey, this.options.keyId);
    config.headers.set(SIGNED_REQUEST_HEADER.timestamp, timestamp);
    config.headers.set(SIGNED_REQUEST_HEADER.signature, signature);
    return config;
  }
}

/**
 * axios-retry's condition, set deliberately (its default re-sends any method after a reset and
 * never retries a timeout): reads only, after a transport failure, 429 or 5xx. Orders and closes
 * are retried by the order executor, never here, so retries of one order are counted once.
 */
export function isRetryableBridgeError(error: AxiosError): boolean {
  const method = (error.config?.method ?? 'get').toLowerCase();
  if (method !== 'get' && method !== 'head') return false;
  if (error.response !== undefined) return error.response.status === 429 || error.response.status >= 500;
  return RETRYABLE_TRANSPORT_CODES.has(error.code ?? '');
}

function transportCode(error: AxiosError): TransportCode {
  switch (error.code) {
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection_reset';
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    case undefined:
    default:
      return 'network_error';
  }
}

function checkRequestId(requestId: unknown): BrokerResult<never> | undefined {
  if (typeof requestId === 'string' && REQUEST_ID_PATTERN.test(requestId)) return undefined;
  return fail(
    'final',
    'invalid_request',
    `request_id must be 1-128 visible ASCII characters, got ${JSON.stringify(requestId)}`,
    0,
  );
}

function describeCall<T>(spec: CallSpec<T>): string {
  return `${spec.method} ${spec.path}${spec.requestId === undefined ? '' : ` (request ${spec.requestId})`}`;
}

/** ` unauthorized: bad signature` from a `{error,message}` body, else a snippet of whatever came. */
/** The `{error, message}` body of a refusal, when it is one. */
function errorBodyOf(data: unknown): { error: string; message?: string } | undefined {
  const text = typeof data === 'string' ? data : '';
  if (text.length === 0) return undefined;
  try {
    const parsed = errorBodySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    // Not JSON: the caller shows the raw snippet, which is the most useful context we have.
    return undefined;
  }
}

function errorBodyText(data: unknown): string {
  const body = errorBodyOf(data);
  if (body !== undefined) return ` ${body.error}${body.message === undefined ? '' : `: ${body.message}`}`;
  const text = typeof data === 'string' ? data : '';
  return text.length === 0 ? '' : ` ${snippet(text)}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
