import { ok, fail, type BrokerResult } from '../broker/broker-error';
import type { SymbolInfo } from '../broker/broker-types';
import { ManualClock } from '../time/clock';
import { SymbolCache } from './symbol-cache';

const EURUSD: SymbolInfo = {
  symbol: 'EURUSD',
  digits: 5,
  contract_size: 100_000,
  tick_size: 0.00001,
  tick_value: 1,
  volume_min: 0.01,
  volume_max: 100,
  volume_step: 0.01,
  bid: 1.1,
  ask: 1.1001,
};

function broker(answer: () => BrokerResult<SymbolInfo>) {
  const calls: string[] = [];
  return {
    calls,
    symbol: (name: string) => {
      calls.push(name);
      return Promise.resolve(answer());
    },
  };
}

describe('SymbolCache', () => {
  it('asks the broker once while the contract is recent, again after ten minutes', async () => {
    const clock = new ManualClock(0);
    const b = broker(() => ok(EURUSD));
    const cache = new SymbolCache(b, clock);
    await cache.get('EURUSD', 'cached');
    await cache.get('EURUSD', 'cached');
    expect(b.calls).toHaveLength(1);
    clock.advance(10 * 60_000);
    expect(await cache.get('EURUSD', 'cached')).toEqual(EURUSD);
    expect(b.calls).toHaveLength(2);
  });

  it('asks afresh for a fresh quote, and shares one call between concurrent asks', async () => {
    const b = broker(() => ok(EURUSD));
    const cache = new SymbolCache(b, new ManualClock(0));
    await Promise.all([
      cache.get('EURUSD', 'fresh'),
      cache.get('EURUSD', 'fresh'),
      cache.get('EURUSD', 'cached'),
    ]);
    expect(b.calls).toHaveLength(1);
    await cache.get('EURUSD', 'fresh');
    expect(b.calls).toHaveLength(2);
  });

  it('answers undefined for a symbol the broker cannot describe, and asks again only after a minute', async () => {
    const clock = new ManualClock(0);
    const b = broker(() => fail('final', 'unknown_symbol', 'no such symbol'));
    const cache = new SymbolCache(b, clock);
    expect(await cache.get('NOPE', 'cached')).toBeUndefined();
    expect(await cache.get('NOPE', 'cached')).toBeUndefined();
    expect(b.calls).toHaveLength(1);
    clock.advance(60_000);
    await cache.get('NOPE', 'cached');
    expect(b.calls).toHaveLength(2);
  });
});
