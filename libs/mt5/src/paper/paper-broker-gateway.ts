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
  type PaperAccountSnapshot,
  type Position,
  type TradeResult,
} from '@app/core';

/** Where the paper account's state goes after every trade, so a restart cannot lose a fill. */
export interface PaperAccountPersistence {
  save(snapshot: PaperAccountSnapshot): Promise<void>;
}

/**
 * The embedded simulated account behind the broker port (`MT5_GATEWAY=paper`). Thin: the
 * account (libs/core) does the trading; this adapter adds the clock, async results and saving.
 *
 * Saving: after any call that changed the account (a fill, a close, a newly stored final
 * outcome), the snapshot is saved before the result is returned. If saving fails, the trade
 * has still happened in memory, so the answer is `unknown_outcome` / `persist_failed`, not a
 * fill and not a final failure: the caller retries with the same request id, the account
 * answers from its idempotency store without trading again, and that retry saves again; only
 * once a save succeeds does the caller see the stored result.
 */
export class PaperBrokerGateway implements BrokerGateway {
  /** Saves run one at a time, each writing the newest state, so an older snapshot never lands last. */
  private saving: Promise<void> = Promise.resolve();
  private unsaved = false;

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

  private async trade(execute: () => TradeResult): Promise<BrokerResult<TradeResult>> {
    const before = this.paper.revision;
    const result = execute();
    if (this.persistence && (this.unsaved || this.paper.revision !== before)) {
      try {
        await this.persist(this.persistence);
      } catch (error) {
        return fail(
          'unknown_outcome',
          'persist_failed',
          `paper account: ${retcodeName(result.retcode)} for request ${result.request_id} (position ${result.position}) ` +
            `happened in memory but its state could not be saved: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    return ok(result);
  }

  private async persist(persistence: PaperAccountPersistence): Promise<void> {
    // The snapshot is taken when this save starts, so it includes every change made before it.
    const run = this.saving.then(async () => {
      await persistence.save(this.paper.snapshot());
    });
    this.saving = run.catch(() => undefined);
    try {
      await run;
      this.unsaved = false;
    } catch (error) {
      this.unsaved = true;
      throw error;
    }
  }
}
