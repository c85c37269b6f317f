/**
 * How precise numbers are where they leave the process (API answers, events, logs, the audit
 * log): money in cents, percentages to a hundredth of a basis point. Binary floating point turns
 * 0.0128 into 0.01280000000000655 after a subtraction; nobody should read that in a status.
 */
export const MONEY_DECIMALS = 2;
export const PERCENT_DECIMALS = 4;

/** Half away from zero, so a loss and a gain of the same size round alike; `+ 0` turns -0 into 0. */
export function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return (Math.sign(value) * Math.round(Math.abs(value) * factor)) / factor + 0;
}

export const roundMoney = (value: number): number => roundTo(value, MONEY_DECIMALS);
export const roundPercent = (value: number): number => roundTo(value, PERCENT_DECIMALS);

/** The same, passing null through (a value not known yet). */
export const roundMoneyOrNull = (value: number | null): number | null =>
  value === null ? null : roundMoney(value);
export const roundPercentOrNull = (value: number | null): number | null =>
  value === null ? null : roundPercent(value);
