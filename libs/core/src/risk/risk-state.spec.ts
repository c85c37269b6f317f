import { emptyRiskState, parseRiskState, type RiskState } from './risk-state';
import { roundTrip, T0 } from './risk-test-helpers';

const full: RiskState = {
  baselineEquity: 10_000,
  baselineSetAt: T0,
  peakEquity: 11_000,
  daily: { day: '2026-11-24', anchorEquity: 10_500 },
  halt: {
    id: 'drawdown_cap-1',
    reason: 'total drawdown 25.0% >= cap 20%',
    source: 'drawdown_cap',
    at: T0,
    drawdownPercent: 25,
    capPercent: 20,
  },
};

describe('parseRiskState', () => {
  it('accepts empty and full state after a JSON round trip', () => {
    expect(parseRiskState(roundTrip(emptyRiskState()))).toEqual({ ok: true, value: emptyRiskState() });
    expect(parseRiskState(roundTrip(full))).toEqual({ ok: true, value: full });
  });

  it.each([
    ['not an object', 'nope'],
    ['a zero baseline', { ...full, baselineEquity: 0 }],
    [
      'a NaN baseline (JSON turns it into null, but not its timestamp)',
      roundTrip({ ...full, baselineEquity: Number.NaN }),
    ],
    ['a negative peak', { ...full, peakEquity: -1 }],
    ['a bad day key', { ...full, daily: { day: '24/11/2026', anchorEquity: 1 } }],
    ['a zero daily anchor', { ...full, daily: { day: '2026-11-24', anchorEquity: 0 } }],
    ['an unknown halt source', { ...full, halt: { ...full.halt, source: 'bored' } }],
    ['a halt without id', { ...full, halt: { ...full.halt, id: '' } }],
  ])('rejects %s', (_name, value) => {
    expect(parseRiskState(value).ok).toBe(false);
  });
});
