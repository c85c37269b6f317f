import type { BrokerGateway } from '../broker/broker-gateway.port';
import type { Position } from '../broker/broker-types';
import { executeClose, type RetryPolicy } from '../execution/order-executor';
import { mapWithConcurrency } from '../execution/map-with-concurrency';
import { RecentlyClosedPositions } from '../execution/recently-closed-positions';
import { haltCloseRequestId } from '../execution/request-ids';
import type { CoreLogger } from '../logging/core-logger.port';
import { backoffDelay } from '../time/backoff';
import type { Clock } from '../time/clock';

/** How closing went. `failed` counts positions the last pass could not close; `remaining` what the broker still lists. */
export interface CloseAllReport {
  closed: number;
  failed: number;
  remaining: number;
  rounds: number;
  failures: { ticket: number; symbol: string; reason: string }[];
  /** The broker's position list could not be read (so nothing is known to be closed yet). */
  listUnavailable: boolean;
  /** Some pass had to be repeated (a close failed, or the list could not be read): worth telling when it ends. */
  retried: boolean;
}

export interface CloseAllOptions {
  /** Halts keep going while any position remains; a graceful stop gives up at its deadline. */
  keepTrying: boolean;
  deadlineMs?: number;
  /** Ends this run (a resume, a shutdown): checked before every round. */
  signal?: AbortSignal;
  /** After the first pass, or the first failure to list positions: report without waiting for the end. */
  onFirstPass?: (report: CloseAllReport) => void;
}

const CONCURRENCY = 8;
const MAX_ROUND_DELAY_MS = 5000;

/**
 * Close every open position on the account, as the broker lists them (not as we remember them),
 * in parallel with bounded concurrency. Each close has a deterministic request id, so a retry
 * or a restart never closes twice; after a final refusal the next round uses a new id, as the
 * protocol demands. Re-reads positions until none is left.
 */
export class CloseAllPositions {
  private readonly retry: RetryPolicy;
  /** What the close-alls of this process closed: settles signals restored after a crash. */
  readonly closed = new RecentlyClosedPositions();

  constructor(
    private readonly broker: BrokerGateway,
    private readonly clock: Clock,
    private readonly logger: CoreLogger,
    /** `sleep` comes from the scheduler, so close-alls run in virtual time in tests. */
    retry: Partial<RetryPolicy> & Pick<RetryPolicy, 'sleep'>,
  ) {
    this.retry = {
      maxRetries: 2,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      random: Math.random,
      ...retry,
    };
  }

  async closeAll(batchId: string, options: CloseAllOptions): Promise<CloseAllReport> {
    const started = this.clock.now();
    const idRound = new Map<number, number>();
    const report: CloseAllReport = {
      closed: 0,
      failed: 0,
      remaining: 0,
      rounds: 0,
      failures: [],
      listUnavailable: false,
      retried: false,
    };
    let firstPassReported = false;
    const reportFirstPass = () => {
      if (firstPassReported) return;
      firstPassReported = true;
      options.onFirstPass?.({ ...report, failures: [...report.failures] });
    };
    const outOfTime = () =>
      options.signal?.aborted === true ||
      (!options.keepTrying &&
        options.deadlineMs !== undefined &&
        this.clock.now() - started >= options.deadlineMs);

    for (;;) {
      // Checked at every round: a clean pass goes straight on to confirm with a fresh list.
      if (options.signal?.aborted === true || (report.rounds > 0 && outOfTime())) return report;
      report.rounds++;
      const listed = await this.broker.positions();
      if (!listed.ok) {
        this.logger.warn({ batch: batchId, error: listed.error }, 'cannot list positions to close; retrying');
        report.listUnavailable = true;
        report.retried = true;
        report.failures = [{ ticket: 0, symbol: '*', reason: `positions unavailable: ${listed.error.code}` }];
        reportFirstPass(); // nobody may wait on a list that does not come back
      } else {
        report.listUnavailable = false;
        report.remaining = listed.value.length;
        if (listed.value.length === 0) {
          report.failed = 0;
          reportFirstPass();
          return report;
        }
        const failures = await this.closePass(batchId, listed.value, idRound, report);
        report.failed = failures.length;
        report.failures = failures;
        if (failures.length > 0) report.retried = true;
        if (failures.length > 0)
          this.logger.warn(
            { batch: batchId, failures },
            `${failures.length} position(s) failed to close; retrying`,
          );
        reportFirstPass();
        if (failures.length === 0) continue; // confirm with a fresh list
      }
      if (outOfTime()) return report;
      await this.retry.sleep(
        backoffDelay({ baseDelayMs: 200, maxDelayMs: MAX_ROUND_DELAY_MS, jitter: 'none' }, report.rounds),
      );
      if (outOfTime()) return report;
    }
  }

  private async closePass(
    batchId: string,
    positions: Position[],
    idRound: Map<number, number>,
    report: CloseAllReport,
  ): Promise<CloseAllReport['failures']> {
    const outcomes = await mapWithConcurrency(positions, CONCURRENCY, async (position) => {
      const round = idRound.get(position.ticket) ?? 0;
      const outcome = await executeClose(
        this.broker,
        { request_id: haltCloseRequestId(batchId, position.ticket, round), ticket: position.ticket },
        this.retry,
      );
      return { position, outcome };
    });
    const failures: CloseAllReport['failures'] = [];
    for (const { position, outcome } of outcomes) {
      switch (outcome.kind) {
        case 'filled': {
          const filled = outcome.result.volume;
          if (filled > 0 && filled + 1e-9 < position.volume) {
            // DONE_PARTIAL: the bridge stores this answer under the id, so the rest of the
            // position needs a new id, and a pause like any failure, until it is all gone.
            idRound.set(position.ticket, (idRound.get(position.ticket) ?? 0) + 1);
            failures.push({
              ticket: position.ticket,
              symbol: position.symbol,
              reason: `partly closed: ${filled} of ${position.volume} lots`,
            });
            break;
          }
          report.closed++;
          this.closed.add(position, true);
          break;
        }
        case 'already_closed':
          // Gone before the close came (a stop, a stop-out, a person): flat all the same, but not our close.
          report.closed++;
          this.closed.add(position, false);
          break;
        case 'rejected':
          // A final refusal is stored by the bridge under that id: the next try needs a new one.
          idRound.set(position.ticket, (idRound.get(position.ticket) ?? 0) + 1);
          failures.push({ ticket: position.ticket, symbol: position.symbol, reason: outcome.reason });
          break;
        case 'error':
          if (outcome.error.kind === 'final' || outcome.error.kind === 'invalid_response')
            idRound.set(position.ticket, (idRound.get(position.ticket) ?? 0) + 1);
          failures.push({ ticket: position.ticket, symbol: position.symbol, reason: outcome.reason });
          break;
      }
    }
    return failures;
  }
}
