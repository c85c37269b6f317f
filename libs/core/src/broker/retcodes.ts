/** MQL5 TRADE_RETCODE_* values the bridge protocol uses (docs/mt5-bridge.md). */
export const Retcode = {
  REQUOTE: 10004,
  REJECT: 10006,
  PLACED: 10008,
  DONE: 10009,
  DONE_PARTIAL: 10010,
  INVALID: 10013,
  INVALID_VOLUME: 10014,
  INVALID_PRICE: 10015,
  INVALID_STOPS: 10016,
  MARKET_CLOSED: 10018,
  NO_MONEY: 10019,
  PRICE_CHANGED: 10020,
  PRICE_OFF: 10021,
  TOO_MANY_REQUESTS: 10024,
  CLIENT_DISABLES_AT: 10027,
  CONNECTION: 10031,
  POSITION_CLOSED: 10036,
} as const;

export type RetcodeName = keyof typeof Retcode;

/** What the service does with a retcode. Unknown codes are final: never guess a fill. */
export type RetcodeClass = 'filled' | 'placed' | 'partial' | 'transient' | 'final' | 'already_closed';

const CLASS_BY_CODE = new Map<number, RetcodeClass>([
  [Retcode.DONE, 'filled'],
  [Retcode.PLACED, 'placed'],
  [Retcode.DONE_PARTIAL, 'partial'],
  [Retcode.REQUOTE, 'transient'],
  [Retcode.PRICE_CHANGED, 'transient'],
  [Retcode.PRICE_OFF, 'transient'],
  [Retcode.TOO_MANY_REQUESTS, 'transient'],
  [Retcode.CONNECTION, 'transient'],
  [Retcode.POSITION_CLOSED, 'already_closed'],
]);

export function classifyRetcode(retcode: number): RetcodeClass {
  return CLASS_BY_CODE.get(retcode) ?? 'final';
}

const NAME_BY_CODE = new Map<number, string>(Object.entries(Retcode).map(([name, code]) => [code, name]));

export function retcodeName(retcode: number): string {
  return NAME_BY_CODE.get(retcode) ?? `RETCODE_${retcode}`;
}
