import type { BrokerGateway } from '../broker/broker-gateway.port';
import type { SymbolInfo } from '../broker/broker-types';
import type { Clock } from '../time/clock';

/** A symbol's contract (size, step, min, max) changes rarely: asking once every ten minutes is plenty. */
const CONTRACT_TTL_MS = 10 * 60_000;
/** A broker that could not describe a symbol is asked again after this, not on every order. */
const MISS_TTL_MS = 60_000;

interface Entry {
  info: SymbolInfo | undefined;
  at: number;
}

/**
 * One account's view of its broker's symbols, for order sizing. `cached` answers from memory while
 * the contract is recent (the quote in it may be old); `fresh` always asks (risk sizing needs the
 * current price). Concurrent asks for one symbol share one broker call. Never throws: a symbol the
 * broker cannot describe is undefined, and sizing falls back to its defaults or refuses.
 */
export class SymbolCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<SymbolInfo | undefined>>();

  constructor(
    private readonly broker: Pick<BrokerGateway, 'symbol'>,
    private readonly clock: Clock,
  ) {}

  async get(symbol: string, how: 'cached' | 'fresh'): Promise<SymbolInfo | undefined> {
    const entry = this.entries.get(symbol);
    const now = this.clock.now();
    if (how === 'cached' && entry !== undefined) {
      const ttl = entry.info === undefined ? MISS_TTL_MS : CONTRACT_TTL_MS;
      if (now - entry.at < ttl) return entry.info;
    }
    const running = this.inFlight.get(symbol);
    if (running !== undefined) return running;
    const ask = this.ask(symbol).finally(() => this.inFlight.delete(symbol));
    this.inFlight.set(symbol, ask);
    return ask;
  }

  private async ask(symbol: string): Promise<SymbolInfo | undefined> {
    const answer = await this.broker.symbol(symbol);
    const info = answer.ok ? answer.value : undefined;
    this.entries.set(symbol, { info, at: this.clock.now() });
    return info;
  }
}
