import { AlertCoalescer } from './alert-coalescer';

describe('AlertCoalescer', () => {
  it('admits the first alert and suppresses an identical one inside the window', () => {
    const coalescer = new AlertCoalescer(10_000);
    expect(coalescer.admit('halt\nTrading halted', 1_000)).toBe(true);
    expect(coalescer.admit('halt\nTrading halted', 10_999)).toBe(false);
  });

  it('admits the identical alert again once the window has passed', () => {
    const coalescer = new AlertCoalescer(10_000);
    expect(coalescer.admit('x', 0)).toBe(true);
    expect(coalescer.admit('x', 10_000)).toBe(true);
    expect(coalescer.admit('x', 15_000)).toBe(false);
  });

  it('never coalesces different alerts', () => {
    const coalescer = new AlertCoalescer(10_000);
    expect(coalescer.admit('a', 0)).toBe(true);
    expect(coalescer.admit('b', 1)).toBe(true);
  });
});
