/** Broker-side records, named as in the MetaTrader5 package and the bridge protocol. */

export type OrderSide = 'buy' | 'sell';

export interface AccountInfo {
  login: number;
  currency: string;
  balance: number;
  equity: number;
  margin: number;
  margin_free: number;
  server_time: string;
}

export interface Position {
  ticket: number;
  symbol: string;
  type: OrderSide;
  volume: number;
  price_open: number;
  price_current: number;
  sl: number;
  tp: number;
  profit: number;
  magic: number;
  comment: string;
  time: string;
}

/** Open a market position. `request_id` is deterministic so a retry can never trade twice. */
export interface OpenOrderRequest {
  request_id: string;
  symbol: string;
  type: OrderSide;
  volume: number;
  sl?: number;
  tp?: number;
  deviation?: number;
  magic?: number;
  /** At most 26 characters; the service puts the request id here. */
  comment?: string;
}

export interface ClosePositionRequest {
  request_id: string;
  ticket: number;
  /** Part of the position to close; all of it when absent. */
  volume?: number;
  deviation?: number;
}

/** The answer to both POSTs of the bridge protocol. */
export interface TradeResult {
  request_id: string;
  retcode: number;
  order: number;
  deal: number;
  position: number;
  volume: number;
  price: number;
  comment: string;
}

export interface BrokerHealth {
  connected: boolean;
}

/**
 * What the broker says of one instrument (MT5 `symbol_info`): enough to size an order, i.e. to
 * turn a risk in money into lots (contract size, tick size and value) and to round a volume to
 * what the symbol accepts (step, min, max).
 */
export interface SymbolInfo {
  symbol: string;
  digits: number;
  contract_size: number;
  /** Smallest price change. */
  tick_size: number;
  /** What one tick is worth for one lot, in the account currency. */
  tick_value: number;
  volume_min: number;
  volume_max: number;
  volume_step: number;
  bid: number;
  ask: number;
}

/**
 * Why a deal happened, as MT5 records it (`DEAL_REASON_*`): `client`, `mobile` and `web` are a
 * person in a terminal, `expert` a program (this service among them), `sl`/`tp` a stop level,
 * `so` a margin stop-out.
 */
export type DealReason =
  'client' | 'mobile' | 'web' | 'expert' | 'sl' | 'tp' | 'so' | 'rollover' | 'vmargin' | 'split';

export const DEAL_REASONS: readonly DealReason[] = [
  'client',
  'mobile',
  'web',
  'expert',
  'sl',
  'tp',
  'so',
  'rollover',
  'vmargin',
  'split',
];

/**
 * One deal of the account's history (MT5 `history_deals_get`): `entry: in` opened (part of) a
 * position, `out` closed it. `type` is the deal's own direction (closing a buy is a sell deal).
 */
export interface Deal {
  ticket: number;
  order: number;
  position: number;
  symbol: string;
  type: OrderSide;
  entry: 'in' | 'out';
  volume: number;
  price: number;
  /** Realised profit of an `out` deal in the account currency (0 for `in`). */
  profit: number;
  reason: DealReason;
  magic: number;
  comment: string;
  time: string;
}
