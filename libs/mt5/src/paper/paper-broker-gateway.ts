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
  type PaperAccountPersistence,
  type PaperChange,
  type Position,
  type SymbolInfo,
  type TradeResult,
} from '@app/core';

// The port moved to libs/core (the PostgreSQL book in libs/state implements it too); re-exported for its users.
export type { PaperAccountPersistence } from '@app/core';

/** A change not yet known durable: its record in flight, or (`attempt` undefined) failed and waiting for the next call. */
interface Unsaved {
  readonly change: PaperChange;
  attempt: Promise<Error | undefined> | undefined;
}

/**
 * The embedded simulated account behind the broker port (`MT5_GATEWAY=paper`). Thin: the
 * account (libs/core) does the trading; this adapter adds the clock, async results and saving.
 *
 * Saving: the account numbers its changes (a trade that stored an outcome, an automatic close)
 * and hands each over as it stood right after it; each call records the changes it made before it
 * answers, all issued at once (concurrent calls share the persistence's writes). A change whose
 * record failed is kept and recorded again, the same change (number and content), with every
 * later call until a record of it succeeds. A restart applies the changes in number order and
 * stops at the first one missing, so it finds the account exactly as it was right after one
 * change, never a mix of two moments.
 *
 * Answers: a trade answers its result only once every change numbered up to its own is durable:
 * its own record and every earlier one (an earlier record still in flight is awaited, not
 * re-issued). Otherwise it answers `unknown_outcome` / `persist_failed`: the trade has happened in
 * memory, the caller retries with the same request id, the account answers from its idempotency
 * store without trading again, and the retry's call records again what is still unsaved; only
 * once the changes up to the trade's are durable does the caller see the stored result.
 *
 * Hence the invariant that makes a restart safe: when a restart's replay stops before change n
 * (its record is not on disk), every trade numbered n or later was answered `unknown_outcome`, or
 * not at all (the process died first). Its caller retries it by request id, and the restored
 * account, which does not know that id, executes it again, once. Nothing the caller was told
 * happened is lost. Automatic closes beyond the gap were told to no one; the restored account's
 * first call walks from the last applied change over the downtime (see `PaperAccount.restore`)
 * and crosses the same stops of the positions it holds again.
 *
 * An unsaved change is held whole until a record of it succeeds: a long disk outage costs memory
 * (and re-records) in proportion to the changes made meanwhile.
 *
 * Automatic closes (stop loss, take profit, stop-out) happen inside whatever call moved the
 * clock, reads included, so every call also records the closes the account queued, before it
 * answers, in the same scheme. A read whose close could not be saved still answers (what it
 * read is true in memory); the close stays unsaved and is recorded again with every later call
 * until a record of it succeeds, and until then trades answer `unknown_outcome` as above. On
 * `close`, the persistence's compaction writes the whole account, unsaved changes included.
 *
 * On a market shared by several accounts (docs/accounts.md) a close can also happen inside
 * another account's call, or the restart's catch-up (`openPaperFleet`): it waits in this account,
 * numbered, until this gateway's next call (or `flush`) records it first, in the scheme above.
 * Until then no answer of this gateway has shown it, so a crash loses nothing a caller was told,
 * and the restart's catch-up walks this account's stops from its own last change and closes the
 * same positions again.
 */
export class PaperBrokerGateway implements BrokerGateway {
  /** Every change numbered up to this one is durable (those made before this gateway count as such: the store's open compacts them). */
  private durable: number;
  /** Changes numbered above `durable` not yet known durable, in number order. */
  private readonly unsaved = new Map<number, Unsaved>();
  /** Changes already durable but numbered above `durable + 1` (an earlier one is not): number to request id ('' for a close). */
  private readonly savedAhead = new Map<number, string>();

  constructor(
    private readonly paper: PaperAccount,
    private readonly clock: Clock,
    private readonly persistence?: PaperAccountPersistence,
  ) {
    this.durable = paper.lastChange;
  }

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

  async symbol(name: string): Promise<BrokerResult<SymbolInfo>> {
    const read = await this.read(() => this.paper.symbolInfo(name, this.clock.now()));
    if (!read.ok) return read;
    return read.value === undefined
      ? fail('final', 'unknown_symbol', `paper account does not quote ${JSON.stringify(name)}`, 0)
      : ok(read.value);
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

  /**
   * Records what the account queued outside this gateway's calls: on a shared market another
   * account's call, or a restart's catch-up, moves the prices and may close this account's
   * positions (docs/accounts.md). Any call does it too; a failed record waits for the next call.
   */
  async flush(): Promise<void> {
    await this.read(() => undefined);
  }

  /** On application shutdown: lets the persistence finish and compact. Trades after this answer `unknown_outcome`. */
  async close(): Promise<void> {
    await this.persistence?.close();
  }

  /** A read answers what it read; the closes it triggered are recorded first, and a failed record waits for the next call. */
  private async read<T>(execute: () => T): Promise<BrokerResult<T>> {
    const value = execute();
    const pending = this.pendingRecords();
    if (pending.length > 0 && this.persistence !== undefined) await this.recordAll(this.persistence, pending);
    return ok(value);
  }

  private async trade(execute: () => TradeResult): Promise<BrokerResult<TradeResult>> {
    const before = this.paper.lastChange;
    const result = execute();
    const pending = this.pendingRecords();
    if (this.persistence === undefined) return ok(result);
    // The trade's own change, taken in the same tick; none for a repeat (a stored answer) or a request without id.
    const own = result.request_id === '' ? undefined : this.paper.changeFor(result.request_id);
    const made = own?.number !== undefined && own.number > before ? own : undefined;
    if (made !== undefined) pending.push(made);
    // What the answer stands on: the trade's change, or a repeat's earlier one while it is not yet durable.
    const upTo = made?.number ?? this.unsavedTrade(result.request_id);
    const failures = pending.length > 0 ? await this.recordAll(this.persistence, pending) : [];
    if (upTo === undefined || (await this.durableThrough(upTo))) return ok(result);
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
   * What this call must record, in number order: the changes whose record failed, then the
   * automatic closes the call made (they come before any trade of the call: the account checks
   * stops as it syncs). Without persistence the closes are taken and dropped, so the queue does
   * not grow.
   */
  private pendingRecords(): PaperChange[] {
    const closes = this.paper.takeAutomaticCloses();
    if (this.persistence === undefined) return [];
    const retries: PaperChange[] = [];
    for (const u of this.unsaved.values()) if (u.attempt === undefined) retries.push(u.change);
    return retries.length === 0 ? closes : [...retries, ...closes];
  }

  /** The number of the trade `requestId` while its change is not yet durable as part of the prefix; undefined once it is. */
  private unsavedTrade(requestId: string): number | undefined {
    if (requestId === '' || this.unsaved.size + this.savedAhead.size === 0) return undefined;
    for (const [n, u] of this.unsaved) if (u.change.request?.requestId === requestId) return n;
    for (const [n, id] of this.savedAhead) if (id === requestId) return n;
    return undefined;
  }

  /**
   * True once every change numbered up to `n` is durable: waits for the earlier records still in
   * flight (issued by earlier calls; nothing is re-issued or serialised here), false as soon as
   * one of them is found failed.
   */
  private async durableThrough(n: number): Promise<boolean> {
    while (this.durable < n) {
      const next = this.unsaved.get(this.durable + 1);
      if (next?.attempt === undefined) return false;
      await next.attempt;
    }
    return true;
  }

  /**
   * Issues every record before the first await: the records leave in change order and are not
   * chained, so concurrent calls share the persistence's writes. Resolves with the errors.
   */
  private async recordAll(persistence: PaperAccountPersistence, pending: PaperChange[]): Promise<Error[]> {
    const outcomes = await Promise.all(pending.map((change) => this.record(persistence, change)));
    return outcomes.filter((e) => e !== undefined);
  }

  /** Records the change (again, unchanged, after a failure); resolves with the error instead of rejecting. */
  private record(persistence: PaperAccountPersistence, change: PaperChange): Promise<Error | undefined> {
    const n = change.number;
    if (n === undefined) return Promise.resolve(new Error('paper change without a number'));
    let entry = this.unsaved.get(n);
    if (entry === undefined) {
      entry = { change, attempt: undefined };
      this.unsaved.set(n, entry);
    }
    const unsaved = entry;
    let written: Promise<void>;
    try {
      written = persistence.record(change);
    } catch (error) {
      written = Promise.reject(toError(error));
    }
    const attempt = written.then(
      () => {
        this.saved(n);
        return undefined;
      },
      (error: unknown) => {
        unsaved.attempt = undefined;
        return toError(error);
      },
    );
    unsaved.attempt = attempt;
    return attempt;
  }

  /** Change `n` is durable: moves `durable` on over it and any durable changes right after it. */
  private saved(n: number): void {
    const entry = this.unsaved.get(n);
    this.unsaved.delete(n);
    if (entry === undefined || n <= this.durable) return;
    if (n !== this.durable + 1) {
      this.savedAhead.set(n, entry.change.request?.requestId ?? '');
      return;
    }
    this.durable = n;
    while (this.savedAhead.delete(this.durable + 1)) this.durable += 1;
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
