import { parseSignalBody, type SignalParseResult } from './signal-validation';
import type { TradeSignal } from './trade-signal';

const RECEIVED_AT = Date.UTC(2026, 10, 24, 10, 0, 5);
const MAX_VOLUME = 100;

const accept = (body: unknown, maxVolume = MAX_VOLUME): TradeSignal => {
  const result: SignalParseResult = parseSignalBody(body, maxVolume, RECEIVED_AT, 'inbox');
  if (!result.ok) throw new Error(`expected the body to be accepted, got ${JSON.stringify(result.errors)}`);
  return result.signal;
};

describe('parseSignalBody: bodies that are accepted', () => {
  it('turns the example body of docs/service.md into a signal, created_at starting the latency clock', () => {
    const signal = accept({
      id: 'sig-001',
      instrument: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      sl: 1.085,
      tp: 1.095,
      created_at: '2026-11-24T10:00:00.000Z',
    });
    expect(signal).toEqual({
      id: 'sig-001',
      instrument: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      sl: 1.085,
      tp: 1.095,
      createdAtMs: Date.UTC(2026, 10, 24, 10, 0, 0),
      receivedAtMs: RECEIVED_AT,
      source: 'inbox',
    });
  });

  it('uses the receipt time as createdAtMs when created_at is absent, and omits absent sl/tp', () => {
    const signal = accept({ id: 'a', instrument: 'X', side: 'sell', volume: 1 });
    expect(signal).toEqual({
      id: 'a',
      instrument: 'X',
      side: 'sell',
      volume: 1,
      createdAtMs: RECEIVED_AT,
      receivedAtMs: RECEIVED_AT,
      source: 'inbox',
    });
    expect('sl' in signal).toBe(false);
    expect('tp' in signal).toBe(false);
  });

  it('records the source it was given', () => {
    const result = parseSignalBody(
      { id: 'p-1', instrument: 'EURUSD', side: 'buy', volume: 1 },
      MAX_VOLUME,
      RECEIVED_AT,
      'platform',
    );
    expect(result.ok && result.signal.source).toBe('platform');
  });

  it('reads created_at with a zone offset as the same instant in UTC', () => {
    expect(
      accept({
        id: 'a',
        instrument: 'EURUSD',
        side: 'buy',
        volume: 1,
        created_at: '2026-11-24T11:00:00+01:00',
      }).createdAtMs,
    ).toBe(Date.UTC(2026, 10, 24, 10, 0, 0));
    expect(
      accept({
        id: 'a',
        instrument: 'EURUSD',
        side: 'buy',
        volume: 1,
        created_at: '2026-11-24T05:30:00-0430',
      }).createdAtMs,
    ).toBe(Date.UTC(2026, 10, 24, 10, 0, 0));
    expect(
      accept({ id: 'a', instrument: 'EURUSD', side: 'buy', volume: 1, created_at: '2026-11-24T10:00Z' })
        .createdAtMs,
    ).toBe(Date.UTC(2026, 10, 24, 10, 0, 0));
    expect(
      accept({
        id: 'a',
        instrument: 'EURUSD',
        side: 'buy',
        volume: 1,
        created_at: '2026-02-28T23:59:59.250Z',
      }).createdAtMs,
    ).toBe(Date.UTC(2026, 1, 28, 23, 59, 59, 250));
    expect(
      accept({ id: 'a', instrument: 'EURUSD', side: 'buy', volume: 1, created_at: '2028-02-29T00:00:00Z' })
        .createdAtMs,
    ).toBe(Date.UTC(2028, 1, 29));
  });

  it('accepts ids of exactly 1 and 64 characters using every allowed character', () => {
    expect(accept({ id: 'Z', instrument: 'EURUSD', side: 'buy', volume: 1 }).id).toBe('Z');
    const id64 = 'Az09._:-'.repeat(8);
    expect(id64).toHaveLength(64);
    expect(accept({ id: id64, instrument: 'EURUSD', side: 'buy', volume: 1 }).id).toBe(id64);
  });

  it('accepts instruments of exactly 1 and 32 characters using every allowed character', () => {
    const instrument32 = 'Az09._-X'.repeat(4);
    expect(instrument32).toHaveLength(32);
    expect(accept({ id: 'a', instrument: instrument32, side: 'buy', volume: 1 }).instrument).toBe(
      instrument32,
    );
    expect(accept({ id: 'a', instrument: 'E', side: 'sell', volume: 1 }).instrument).toBe('E');
  });

  it('accepts volume exactly MAX_VOLUME and a tiny positive volume', () => {
    expect(accept({ id: 'a', instrument: 'EURUSD', side: 'buy', volume: 100 }).volume).toBe(100);
    expect(accept({ id: 'a', instrument: 'EURUSD', side: 'buy', volume: 2.5 }, 2.5).volume).toBe(2.5);
    expect(accept({ id: 'a', instrument: 'EURUSD', side: 'sell', volume: 0.01 }).volume).toBe(0.01);
  });

  it('ignores volume for close: absent, zero, negative or above MAX_VOLUME all give volume 0', () => {
    expect(accept({ id: 'c1', instrument: 'EURUSD', side: 'close' }).volume).toBe(0);
    expect(accept({ id: 'c2', instrument: 'EURUSD', side: 'close', volume: 0 }).volume).toBe(0);
    expect(accept({ id: 'c3', instrument: 'EURUSD', side: 'close', volume: -5 }).volume).toBe(0);
    expect(accept({ id: 'c4', instrument: 'EURUSD', side: 'close', volume: 1000 }).volume).toBe(0);
    expect(accept({ id: 'c5', instrument: 'EURUSD', side: 'close', volume: 0.5 }).side).toBe('close');
    // Ignored means ignored: not even its type is held against a close.
    expect(accept({ id: 'c6', instrument: 'EURUSD', side: 'close', volume: 'all' }).volume).toBe(0);
    expect(accept({ id: 'c7', instrument: 'EURUSD', side: 'close', volume: null }).volume).toBe(0);
  });

  it('keeps positive sl and tp, each on its own', () => {
    const onlySl = accept({ id: 'a', instrument: 'EURUSD', side: 'buy', volume: 1, sl: 1.08 });
    expect(onlySl.sl).toBe(1.08);
    expect('tp' in onlySl).toBe(false);
    const onlyTp = accept({ id: 'a', instrument: 'EURUSD', side: 'sell', volume: 1, tp: 0.00001 });
    expect(onlyTp.tp).toBe(0.00001);
    expect('sl' in onlyTp).toBe(false);
  });
});
