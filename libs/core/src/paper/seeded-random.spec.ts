import { SeededRandom, seedFor } from './seeded-random';

describe('SeededRandom', () => {
  it('repeats the same sequence for the same seed and symbol, and differs otherwise', () => {
    const draw = (r: SeededRandom) => Array.from({ length: 5 }, () => r.next());
    const a = draw(SeededRandom.forSymbol(42, 'EURUSD'));
    expect(draw(SeededRandom.forSymbol(42, 'EURUSD'))).toEqual(a);
    expect(draw(SeededRandom.forSymbol(43, 'EURUSD'))).not.toEqual(a);
    expect(draw(SeededRandom.forSymbol(42, 'GBPUSD'))).not.toEqual(a);
    expect(seedFor(42, 'EURUSD')).not.toBe(seedFor(42, 'GBPUSD'));
  });

  it('continues exactly from a saved state', () => {
    const r = new SeededRandom(7);
    r.next();
    const copy = new SeededRandom(r.state);
    expect([copy.next(), copy.next()]).toEqual([r.next(), r.next()]);
  });

  it('draws uniforms in [0, 1) and normals with mean ~0 and sd ~1', () => {
    const r = new SeededRandom(seedFor(1, 'X'));
    let sum = 0;
    let squares = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      const z = r.normal();
      sum += z;
      squares += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.05);
    expect(Math.abs(Math.sqrt(squares / n) - 1)).toBeLessThan(0.05);
  });

  it('refuses a state that is not a uint32', () => {
    expect(() => new SeededRandom(-1)).toThrow(RangeError);
    expect(() => new SeededRandom(2 ** 32)).toThrow(RangeError);
    expect(() => new SeededRandom(1.5)).toThrow(RangeError);
  });
});
