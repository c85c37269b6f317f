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
  type Deal,
  type OpenOrderRequest,
  type PaperAccount,
  type PaperChange,
  type Position,
  type TradeResult,
} from '@app/core';

/**
 * Where the paper account's changes go, so a restart cannot lose a fill or an automatic close.
 * `record` is called in the same tick as the call that made the change, so records arrive in
 * change order, and several may be in flight at once (an implementation may write them
 * together); it resolves once the change is durable.
 */
export interface PaperAccountPersistence {
  record(change: PaperChange): Promise<void>;
  /** Makes everything recorded so far durable in its final form (e.g. compacts); later records fail. */
  close(): Promise<void>;
}

/** A change waiting to be (re-)recorded: a trade by its request id, or an automatic close by its deal. */
type Unsaved = { kind: 'trade'; requestId: string } | { kind: 'close'; deal: Deal };

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
 *
 * Automatic closes (stop loss, take profit, stop-out) happen inside whatever call moved the
 * clock, reads included, so every call also records the closes the account queued, before it
 * answers, in the same scheme. A read whose close could not be saved still answers (what it
 * read is true in memory); the close stays unsaved and is recorded again with every later call
 * until a record of it succeeds, and until then trades answer `unknown_outcome` as above. On
 * `close`, the persistence's compaction writes the whole account, unsaved closes included.
 */
export class PaperBrokerGateway implements BrokerGateway {
  /** Records issued so far; numbers them, to tell earlier failures from later ones. */
  private issued = 0;
  /** Changes whose last record failed, by key, with that record's number. */
  private readonly unsaved = new Map<string, { n: number; what: Unsaved }>();

  constructor(
    private readonly paper: PaperAccount,
    private readonly clock: Clock,
    private readonly persistence?: PaperAccountPersistence,
  ) {}

  async health(): Promise<BrokerResult<BrokerHealth>> {
    return this.read(() => ({ connected: true }));
  }

  async account(): Promise<BrokerResult<AccountInfo>> {
    return this.read(() => this.paper.account(this.clock.now()));
  }

  async positions(): Promise<BrokerResult<Position[]>> {
    return this.read(() => this.paper.positions(this.clock.now()));
  }

  async deals(position: number): Promise<BrokerResult<Deal[]>> {
    return this.read(() => this.paper.deals(position, this.clock.now()));
  }

  async openPosition(request: OpenOrderRequest): Promise<BrokerResult<TradeResult>> {
    return this.trade(() => this.paper.open(request, this.clock.now()));
  }

  async closePosition(request: ClosePositionRequest): Promise<BrokerResult<TradeResult>> {
    return this.trade(() => this.paper.close(request, this.clock.now()));
  }

  /**
   * Paper only, not part of the broker port: moves `symbol`'s price by `percent` at once, to
   * rehearse a stop loss, a stop-out or a cap trigger (tests, benchmarks). The closes it triggers
   * are recorded like any other. Throws for a symbol the account does not quote.
   */
  async applyPriceShock(symbol: string, percent: number): Promise<BrokerResult<void>> {
    return this.read(() => this.paper.applyPriceShock(symbol, percent, this.clock.now()));
  }

  /** On application shutdown: lets the persistence finish and compact. Trades after this answer `unknown_outcome`. */
  async close(): Promise<void> {
    await this.persistence?.close();
  }

  /** A read answers what it read; the closes it triggered are recorded first, and a failed record waits for the next call. */
  private async read<T>(execute: () => T): Promise<BrokerResult<T>> {
    const value = execute();
    const pending = this.pendingRecords();
    if (pending.size > 0 && this.persistence !== undefined) await this.recordAll(this.persistence, pending);
    return ok(value);
  }

  private async trade(execute: () => TradeResult): Promise<BrokerResult<TradeResult>> {
    const before = this.paper.revision;
    const result = execute();
    const pending = this.pendingRecords();
    if (this.persistence === undefined) return ok(result);
    // A trade changed the account; the revision also moves for closes, so a repeat may record
    // its (unchanged) change again, which is harmless.
    if (this.paper.revision !== before && result.request_id !== '')
      pending.set(`trade:${result.request_id}`, { kind: 'trade', requestId: result.request_id });
    if (pending.size === 0) return ok(result);
    const first = this.issued + 1;
    const failures = await this.recordAll(this.persistence, pending);
    const earlier = [...this.unsaved.values()].some((u) => u.n < first);
    if (failures.length === 0 && !earlier) return ok(result);
    const reason =
      failures.length > 0
        ? failures.map((e) => e.message).join('; ')
        : "an earlier change's record could not be saved";
    return fail(
      'unknown_outcome',
      'persist_failed',
      `paper account: ${retcodeName(result.retcode)} for request ${result.request_id} (position ${result.position}) ` +
        `happened in memory but its state could not be saved: ${reason}`,
    );
  }

  /**
   * What this call must record: the changes whose record failed, then the automatic closes the
   * call made (they come before any trade of the call: the account checks stops as it syncs).
   * Without persistence the closes are taken and dropped, so the queue does not grow.
   */
  private pendingRecords(): Map<string, Unsaved> {
    const pending = new Map([...this.unsaved].map(([key, u]) => [key, u.what]));
    for (const deal of this.paper.takeAutomaticCloses())
      pending.set(`close:${deal.ticket}`, { kind: 'close', deal });
    return pending;
  }

  /**
   * Issues every record before the first await: the records leave in change order and are not
   * chained, so concurrent calls share the persistence's writes. Resolves with the errors.
   */
  private async recordAll(
    persistence: PaperAccountPersistence,
    pending: Map<string, Unsaved>,
  ): Promise<Error[]> {
    const outcomes = await Promise.all(
      [...pending].map(([key, what]) => this.record(persistence, key, what)),
    );
    return outcomes.filter((e) => e !== undefined);
  }

  /** Records the change as it stands now; resolves with the error instead of rejecting. */
  private record(
    persistence: PaperAccountPersistence,
    key: string,
    what: Unsaved,
  ): Promise<Error | undefined> {
    const change =
      what.kind === 'trade' ? this.paper.changeFor(what.requestId) : this.paper.changeForClose(what.deal);
    if (change === undefined) {
      // The account has forgotten the id (expired or beyond the cap): nothing of it is left to save.
      this.unsaved.delete(key);
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
        // A later failed record of the same change keeps it unsaved.
        if ((this.unsaved.get(key)?.n ?? Number.POSITIVE_INFINITY) < n) this.unsaved.delete(key);
        return undefined;
      },
      (error: unknown) => {
        this.unsaved.set(key, { n: Math.max(n, this.unsaved.get(key)?.n ?? 0), what });
        return error instanceof Error ? error : new Error(String(error));
      },
    );
  }
}
