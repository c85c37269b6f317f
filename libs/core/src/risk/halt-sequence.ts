import type { CloseAllReport } from './close-all-positions';
import type { HaltRecord } from './risk-state';

/**
 * What the halt sequence asks the guard to do. The guard does the I/O and reports back.
 * - `persist`: write the risk state with this halt record (the latch, or its progress).
 * - `announce`: audit the halt and publish `halted`.
 * - `close_all`: close every position until none is left; `reportFirstPass` when the trigger
 *   has not been reported yet.
 * - `report`: the trigger's report after the first pass (event, alert, audit).
 * - `all_closed`: the account is flat after passes had to be repeated (alert, audit).
 * - `started_halted`: a restart found a halt already reported (alert).
 */
export type HaltEffect =
  | { kind: 'persist'; halt: HaltRecord }
  | { kind: 'announce'; halt: HaltRecord }
  | { kind: 'close_all'; halt: HaltRecord; reportFirstPass: boolean }
  | { kind: 'report'; halt: HaltRecord; report: CloseAllReport }
  | { kind: 'all_closed'; halt: HaltRecord; report: CloseAllReport }
  | { kind: 'started_halted'; halt: HaltRecord };

/**
 * The halt sequence of docs/risk.md as a pure state machine: 1. latch and persist before anything
 * else; 2. close every position, as the broker lists them, until none is left; 3. report the
 * first pass honestly; 4. audit. Its progress lives in the halt record (`announcedAt`,
 * `reportedAt`), which is persisted with the latch, so a crash at any step continues at the next
 * one on restart (or on another process, docs/scale-out): never a lost report, never a second one.
 */
export class HaltSequence {
  private halt: HaltRecord;
  private phase: 'latching' | 'running' | 'over';

  private constructor(halt: HaltRecord, phase: 'latching' | 'running') {
    this.halt = { ...halt };
    this.phase = phase;
  }

  /** A new halt, latched in memory: the only thing to do is to make it durable. */
  static begin(halt: HaltRecord): { sequence: HaltSequence; effects: HaltEffect[] } {
    const fresh: HaltRecord = { ...halt, announcedAt: null, reportedAt: null };
    const sequence = new HaltSequence(fresh, 'latching');
    return { sequence, effects: [{ kind: 'persist', halt: sequence.record }] };
  }

  /** A halt found on disk at start: continue where the sequence stopped. */
  static restore(halt: HaltRecord, now: number): { sequence: HaltSequence; effects: HaltEffect[] } {
    const sequence = new HaltSequence(halt, 'running');
    return { sequence, effects: sequence.continueFrom(now) };
  }

  /** The latch is on disk (or could not be written, then the latch holds in memory and is retried). */
  onLatchPersisted(now: number): HaltEffect[] {
    if (this.phase !== 'latching') return [];
    this.phase = 'running';
    return this.continueFrom(now);
  }

  /** The close-all's first pass (or its first failure to list positions). */
  onFirstPass(report: CloseAllReport, now: number): HaltEffect[] {
    if (this.phase !== 'running' || isSet(this.halt.reportedAt)) return [];
    this.halt = { ...this.halt, reportedAt: now };
    return [
      { kind: 'report', halt: this.record, report },
      { kind: 'persist', halt: this.record },
    ];
  }

  /** The broker lists no position any more. */
  onFlat(report: CloseAllReport): HaltEffect[] {
    if (this.phase !== 'running' || !report.retried) return [];
    return [{ kind: 'all_closed', halt: this.record, report }];
  }

  /** Positions showed up while halted and nothing is closing them (an order that filled late, a hand). */
  onLeftovers(): HaltEffect[] {
    if (this.phase !== 'running') return [];
    return [{ kind: 'close_all', halt: this.record, reportFirstPass: false }];
  }

  /** A person resumed: this sequence is over, whatever it was doing. */
  onResumed(): void {
    this.phase = 'over';
  }

  get record(): HaltRecord {
    return { ...this.halt };
  }

  get over(): boolean {
    return this.phase === 'over';
  }

  private continueFrom(now: number): HaltEffect[] {
    const effects: HaltEffect[] = [];
    const reported = isSet(this.halt.reportedAt);
    if (!isSet(this.halt.announcedAt)) {
      this.halt = { ...this.halt, announcedAt: now };
      effects.push({ kind: 'announce', halt: this.record });
      effects.push({ kind: 'close_all', halt: this.record, reportFirstPass: !reported });
      effects.push({ kind: 'persist', halt: this.record });
      return effects;
    }
    if (reported) effects.push({ kind: 'started_halted', halt: this.record });
    effects.push({ kind: 'close_all', halt: this.record, reportFirstPass: !reported });
    return effects;
  }
}

/** Progress absent from state written before it existed counts as done. */
function isSet(at: number | null | undefined): boolean {
  return at !== null;
}
