import { OutcomeRates, ratioOrNull } from './outcome-rates';

describe('OutcomeRates', () => {
  it('reports null ratios, not 0 %, before anything happened', () => {
    expect(new OutcomeRates().snapshot()).toEqual({
      execution: { reached: 0, executed: 0, failed: 0, success_rate: null },
      errors: { operations: 0, errors: 0, error_rate: null },
    });
  });

  it('computes the execution success rate over the signals that reached execution', () => {
    const rates = new OutcomeRates();
    rates.recordExecution('executed', 7);
    rates.recordExecution('failed');
    rates.recordExecution('executed');
    expect(rates.execution()).toEqual({ reached: 9, executed: 8, failed: 1, success_rate: 8 / 9 });
  });

  it('computes the error rate over operations', () => {
    const rates = new OutcomeRates();
    rates.recordOperation('ok', 3);
    rates.recordOperation('error');
    expect(rates.errorRate()).toEqual({ operations: 4, errors: 1, error_rate: 0.25 });
  });

  it('refuses counts that are not non-negative integers and resets to empty', () => {
    const rates = new OutcomeRates();
    expect(rates.recordExecution('executed', -1)).toBe(false);
    expect(rates.recordOperation('error', 1.5)).toBe(false);
    expect(rates.recordOperation('error', Number.NaN)).toBe(false);
    expect(rates.snapshot().execution.reached).toBe(0);
    expect(rates.snapshot().errors.operations).toBe(0);
    rates.recordExecution('executed');
    rates.reset();
    expect(rates.execution().success_rate).toBeNull();
  });

  it('ratioOrNull is null only for a zero denominator', () => {
    expect(ratioOrNull(0, 0)).toBeNull();
    expect(ratioOrNull(0, 5)).toBe(0);
    expect(ratioOrNull(5, 5)).toBe(1);
  });
});
