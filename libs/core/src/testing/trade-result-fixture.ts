import type { TradeResult } from '../broker/broker-types';
import { Retcode } from '../broker/retcodes';

/** What a broker answers a close of a position that is no longer open: POSITION_CLOSED, nothing traded. */
export function positionGoneResult(requestId: string, ticket: number, comment = ''): TradeResult {
  return {
    request_id: requestId,
    retcode: Retcode.POSITION_CLOSED,
    order: 0,
    deal: 0,
    position: ticket,
    volume: 0,
    price: 0,
    comment,
  };
}
