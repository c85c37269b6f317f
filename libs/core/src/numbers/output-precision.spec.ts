import { roundMoney, roundMoneyOrNull, roundPercent, roundPercentOrNull } from './output-precision';

describe('output precision', () => {
  it('removes float noise from percentages and money', () => {
    expect(roundPercent(0.01280000000000655)).toBe(0.0128);
    expect(roundPercent(20.000000000000004)).toBe(20);
    expect(roundMoney(9950.499999999999)).toBe(9950.5);
    expect(roundMoney(0.1 + 0.2)).toBe(0.3);
  });

  it('rounds half away from zero and never yields -0', () => {
    expect(roundMoney(-2.345)).toBe(-2.35);
    expect(roundMoney(2.345)).toBe(2.35);
    expect(Object.is(roundMoney(-0.001), 0)).toBe(true);
  });

  it('passes null through', () => {
    expect(roundMoneyOrNull(null)).toBeNull();
    expect(roundPercentOrNull(null)).toBeNull();
    expect(roundPercentOrNull(1.23456)).toBe(1.2346);
  });
});
