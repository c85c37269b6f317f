// Explicit list: helpers such as roundTo stay internal to the paper account.
export {
  ACCOUNT_CURRENCY,
  instrumentSpec,
  profitToUsd,
  resolveInstruments,
  type InstrumentSpec,
} from './instruments';
export {
  PAPER_LOGIN,
  PaperAccount,
  parsePaperAccountSnapshot,
  parsePaperChange,
  type PaperAccountOptions,
  type PaperChange,
  type PaperAccountSnapshot,
  type PaperPositionRecord,
  type StoredTradeResult,
} from './paper-account';
export type { PaperAccountPersistence, PaperAccountStore } from './paper-account-store.port';
export {
  PaperMarket,
  type MarketListener,
  type PaperMarketOptions,
  type RecordedWalks,
} from './paper-market';
export {
  DEFAULT_WALK_OPTIONS,
  PriceWalk,
  type AdvanceOutcome,
  type PriceWalkOptions,
  type PriceWalkState,
  type Quote,
} from './price-walk';
export { SeededRandom, seedFor, seededRandom } from './seeded-random';
