/**
 * Execution success rate (trades executed / signals that reached execution) and error rate
 * (errors / operations). Counts are cumulative since start, like the heartbeat counters; a ratio
 * is null while its denominator is 0, because "no data" is not "0 %".
 */
export interface ExecutionOutcomes {
  reached: number;
  executed: number;
  failed: number;
  success_rate: number | null;
}

export interface ErrorOutcomes {
  operations: number;
  errors: number;
  error_rate: number | null;
}

export interface OutcomeRatesSnapshot {
  execution: ExecutionOutcomes;
  errors: ErrorOutcomes;
}

export type ExecutionOutcome = 'executed' | 'failed';
export type OperationOutcome = 'ok' | 'error';

export function ratioOrNull(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null;
}

export class OutcomeRates {
  private executed = 0;
  private failed = 0;
  private ok = 0;
  private errors = 0;

  /** A signal that reached execution ended as a fill or a failure. False for a bad count. */
  recordExecution(outcome: ExecutionOutcome, n = 1): boolean {
    if (!isCount(n)) return false;
    if (outcome === 'executed') this.executed += n;
    else this.failed += n;
    return true;
  }

  /** One operation (the caller decides what counts: broker calls, loop ticks...) and whether it erred. */
  recordOperation(outcome: OperationOutcome, n = 1): boolean {
    if (!isCount(n)) return false;
    if (outcome === 'error') this.errors += n;
    else this.ok += n;
    return true;
  }

  execution(): ExecutionOutcomes {
    const reached = this.executed + this.failed;
    return {
      reached,
      executed: this.executed,
      failed: this.failed,
      success_rate: ratioOrNull(this.executed, reached),
    };
  }

  errorRate(): ErrorOutcomes {
    const operations = this.ok + this.errors;
    return { operations, errors: this.errors, error_rate: ratioOrNull(this.errors, operations) };
  }

  snapshot(): OutcomeRatesSnapshot {
    return { execution: this.execution(), errors: this.errorRate() };
  }

  reset(): void {
    this.executed = 0;
    this.failed = 0;
    this.ok = 0;
    this.errors = 0;
  }
}

function isCount(n: number): boolean {
  return Number.isInteger(n) && n >= 0;
}
