import {
  fail,
  ok,
  retcodeName,
  type AccountInfo,
  type BrokerGateway,
  type BrokerHealth,
  type BrokerResult,
  type ClosePositionRequest,
  type Clock,
  type OpenOrderRequest,
  type PaperAccount,
  type PaperChange,
  type Position,
  type TradeResult,
} from '@app/core';

/**
 * Where the paper account's trades go, so a restart cannot lose a fill. `record` is called in the
 * same tick as the trade, so records arrive in trade order, and several may be in flight at once
 * (an implementation may write them together); it resolves once the change is durable.
 */
export interface PaperAccountPersistence {
  record(change: PaperChange): Promise<void>;
  /** Makes everything recorded so far durable in its final form (e.g. compacts); later records fail. */
  close(): Promise<void>;
}

/**
 * The embedded simulated account behind the broker port (`MT5_GATEWAY=paper`). Thin: the
 * account (libs/core) does the trading; this adapter adds the clock, async results and saving.
 *
 * Saving: after any call that changed the account (a fill, a close, a newly stored final
 * outcome), the trade's change is recorded before the result is returned. If recording fails,
 * the trade has still happened in memory, so the answer is `unknown_outcome` / `persist_failed`,
 * not a fill and not a final failure: the caller retries with the same request id, the account
 * answers from its idempotency store without trading again, and that retry records the change
 * again (as it stands then); only once a record succeeds does the caller see the stored result.
 *
 * A change records totals (balance, counters) that include every earlier trade, so it is only
 * complete on disk if the earlier changes are too. Hence every call re-records the changes whose
 * record failed, and a trade whose own record succeeded while an earlier one failed is answered
 * `unknown_outcome` as well: its retry re-records the earlier change.
 */
export class PaperBrokerGateway implements BrokerGateway {
  /** Records issued so far; numbers them, to tell earlier failures from later ones. */
  private issued = 0;
  /** Request ids whose last record failed, with that record's number. */
  private readonly unsaved = new Map<string, number>();

  constructor(
    private readonly paper: PaperAccount,
    private readonly clock: Clock,
    private readonly persistence?: PaperAccountPersistence,
  ) {}

  async health(): Promise<BrokerResult<BrokerHealth>> {
    return ok({ connected: true });
  }

  async account(): Promise<BrokerResult<AccountInfo>> {
    return ok(this.paper.account(this.clock.now()));
  }

  async positions(): Promise<BrokerResult<Position[]>> {
    return ok(this.paper.positions(this.clock.now()));
  }

  async openPosition(request: OpenOrderRequest): Promise<BrokerResult<TradeResult>> {
    return this.trade(() => this.paper.open(request, this.clock.now()));
  }

  async closePosition(request: ClosePositionRequest): Promise<BrokerResult<TradeResult>> {
    return this.trade(() => this.paper.close(request, this.clock.now()));
  }

  /** On application shutdown: lets the persistence finish and compact. Trades after this answer `unknown_outcome`. */
  async close(): Promise<void> {
    await this.persistence?.close();
  }

  private async trade(execute: () => TradeResult): Promise<BrokerResult<TradeResult>> {
    const before = this.paper.revision;
    const result = execute();
    if (this.persistence === undefined) return ok(result);
    const ids = new Set(this.unsaved.keys());
    if (this.paper.revision !== before) ids.add(result.request_id);
    if (ids.size === 0) return ok(result);
    // Issued before the first await: the records leave in trade order and are not chained, so
    // concurrent trades share the persistence's writes.
    const first = this.issued + 1;
    const persistence = this.persistence;
    const failures = (await Promise.all([...ids].map((id) => this.record(persistence, id)))).filter(
      (e) => e !== undefined,
    );
    const earlier = [...this.unsaved.values()].some((n) => n < first);
    if (failures.length === 0 && !earlier) return ok(result);
    const reason =
      failures.length > 0
        ? failures.map((e) => e.message).join('; ')
        : "an earlier trade's change could not be saved";
    return fail(
      'unknown_outcome',
      'persist_failed',
      `paper account: ${retcodeName(result.retcode)} for request ${result.request_id} (position ${result.position}) ` +
        `happened in memory but its state could not be saved: ${reason}`,
    );
  }

  /** Records the change of `requestId` as it stands now; resolves with the error instead of rejecting. */
  private record(persistence: PaperAccountPersistence, requestId: string): Promise<Error | undefined> {
    const change = this.paper.changeFor(requestId);
    if (change === undefined) {
      // The account has forgotten the id (expired or beyond the cap): nothing of it is left to save.
      this.unsaved.delete(requestId);
      return Promise.resolve(undefined);
    }
    const n = ++this.issued;
    let written: Promise<void>;
    try {
      written = persistence.record(change);
    } catch (error) {
      written = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return written.then(
      () => {
        // A later failed record of the same id keeps it unsaved.
        if ((this.unsaved.get(requestId) ?? Number.POSITIVE_INFINITY) < n) this.unsaved.delete(requestId);
        return undefined;
      },
      (error: unknown) => {
        this.unsaved.set(requestId, Math.max(n, this.unsaved.get(requestId) ?? 0));
        return error instanceof Error ? error : new Error(String(error));
      },
    );
  }
}
