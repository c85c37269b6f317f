import type { BrokerResult } from './broker-error';
import type {
  AccountInfo,
  BrokerHealth,
  ClosePositionRequest,
  Deal,
  SymbolInfo,
  OpenOrderRequest,
  Position,
  TradeResult,
} from './broker-types';

/**
 * The broker as the rest of the service sees it. Adapters (paper, HTTP bridge) live in libs/mt5;
 * nothing outside that module knows which one runs.
 *
 * Contract every adapter honours (one conformance suite checks it):
 * - A `request_id` seen before returns the stored final result without trading again.
 * - Trade answers carry MQL5 retcodes; a transient retcode (REQUOTE...) is returned, not retried here.
 * - No method throws for an expected failure: it returns `{ ok: false, error }`.
 */
export interface BrokerGateway {
  health(): Promise<BrokerResult<BrokerHealth>>;
  account(): Promise<BrokerResult<AccountInfo>>;
  positions(): Promise<BrokerResult<Position[]>>;
  /**
   * The deals of one position, oldest first (MT5 `history_deals_get(position=...)`): how a
   * position the service did not close itself ended (stop loss, take profit, stop-out, by hand).
   */
  deals(position: number): Promise<BrokerResult<Deal[]>>;
  /** One instrument's specification and quote (MT5 `symbol_info`); a final `unknown_symbol` error when it has none. */
  symbol(name: string): Promise<BrokerResult<SymbolInfo>>;
  openPosition(request: OpenOrderRequest): Promise<BrokerResult<TradeResult>>;
  closePosition(request: ClosePositionRequest): Promise<BrokerResult<TradeResult>>;
}
