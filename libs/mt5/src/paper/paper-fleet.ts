import { resolve } from 'node:path';
import { PaperAccount, PaperMarket, type AdvanceOutcome, type Clock, type PriceWalkOptions } from '@app/core';
import { FilePaperAccountStore } from './file-paper-account-store';
import { PaperBrokerGateway } from './paper-broker-gateway';

export interface PaperAccountSpec {
  accountId: string;
  /** The account's own directory (its snapshot and journal); never shared with another account. */
  stateDir: string;
  /** PAPER_BALANCE: used only when the account is created; afterwards its saved balance wins. */
  balance: number;
}

export interface PaperFleetOptions {
  /** PAPER_SYMBOLS. */
  symbols: readonly string[];
  /** PAPER_SEED. */
  seed: number;
  /** PAPER_STOP_OUT_LEVEL. */
  stopOutLevelPercent?: number;
  walk?: Partial<PriceWalkOptions>;
  /** See `PaperAccountOptions.maxRestoreCatchUpSteps` (default: 7 days). */
  maxRestoreCatchUpSteps?: number;
}

/** The paper accounts of one process on one shared market (docs/accounts.md). */
export interface PaperFleet {
  readonly market: PaperMarket;
  /** What the restart's catch-up walked (0 steps on a first start or without downtime). */
  readonly caughtUp: AdvanceOutcome;
  accountIds(): string[];
  /** Throws for an account the fleet does not hold. */
  gateway(accountId: string): PaperBrokerGateway;
  /** On shutdown: every account's persistence finishes and compacts. Throws naming the accounts that failed. */
  close(): Promise<void>;
}

/** Accounts opened (or closed) at once: enough to overlap their fsyncs, few enough for open files. */
const FILE_CONCURRENCY = 16;

/**
 * Opens every paper account from its own files onto one market, then walks the market over the
 * downtime once for all of them (`PaperAccount.resumeMarket`), so stops crossed while the process
 * was down close, at their step, in every account; those closes are recorded before this
 * resolves. A failure to open any account (damaged files) closes the others and throws: a start
 * without an account would forget its positions.
 *
 * Light per account: no timer, no walk, one journal file handle (the market steps only for the
 * accounts holding positions).
 */
export async function openPaperFleet(
  options: PaperFleetOptions,
  specs: readonly PaperAccountSpec[],
  clock: Clock,
  log: (accountId: string, message: string) => void = () => undefined,
): Promise<PaperFleet> {
  checkSpecs(specs);
  const market = new PaperMarket({ symbols: options.symbols, seed: options.seed, walk: options.walk });
  const stores = specs.map((spec) => new FilePaperAccountStore(spec.stateDir));
  const opened = await settleLimited(specs, async (spec, i) =>
    stores[i].open({
      balance: spec.balance,
      symbols: options.symbols,
      seed: options.seed,
      market,
      stopOutLevelPercent: options.stopOutLevelPercent,
      maxRestoreCatchUpSteps: options.maxRestoreCatchUpSteps,
    }),
  );
  const failed = opened.findIndex((o) => o.status === 'rejected');
  if (failed >= 0) {
    await settleLimited(stores, (store) => store.close());
    const reason: unknown = (opened[failed] as PromiseRejectedResult).reason;
    throw new Error(`paper account ${specs[failed].accountId} could not be opened: ${messageOf(reason)}`, {
      cause: reason,
    });
  }
  const accounts = opened.map((o) => (o as PromiseFulfilledResult<PaperAccount>).value);
  specs.forEach((spec, i) => logRecovery(stores[i], (message) => log(spec.accountId, message)));
  // Before the catch-up: a gateway counts the changes made before it as durable.
  const gateways = new Map(
    specs.map((spec, i) => [spec.accountId, new PaperBrokerGateway(accounts[i], clock, stores[i])]),
  );
  const before = accounts.map((a) => a.lastChange);
  const caughtUp = PaperAccount.resumeMarket(accounts, clock.now());
  specs.forEach((spec, i) => {
    const closes = accounts[i].lastChange - before[i];
    if (closes > 0)
      log(spec.accountId, `${closes} position close(s) from stops crossed while the process was down`);
  });
  await Promise.all([...gateways.values()].map((g) => g.flush()));
  return {
    market,
    caughtUp,
    accountIds: () => [...gateways.keys()],
    gateway(accountId) {
      const gateway = gateways.get(accountId);
      if (gateway === undefined) throw new Error(`no paper account ${JSON.stringify(accountId)}`);
      return gateway;
    },
    async close() {
      const ids = [...gateways.keys()];
      const closed = await settleLimited([...gateways.values()], (g) => g.close());
      const failures = closed.flatMap((o, i) =>
        o.status === 'rejected' ? [`${ids[i]}: ${messageOf(o.reason)}`] : [],
      );
      if (failures.length > 0) throw new Error(`paper accounts could not be closed: ${failures.join('; ')}`);
    },
  };
}

function checkSpecs(specs: readonly PaperAccountSpec[]): void {
  const ids = new Set<string>();
  const dirs = new Map<string, string>();
  for (const { accountId, stateDir } of specs) {
    if (ids.has(accountId)) throw new Error(`paper account ${JSON.stringify(accountId)} is listed twice`);
    ids.add(accountId);
    // Two accounts in one directory would write over each other's files.
    const dir = resolve(stateDir);
    const other = dirs.get(dir);
    if (other !== undefined)
      throw new Error(
        `paper accounts ${JSON.stringify(other)} and ${JSON.stringify(accountId)} share ${dir}`,
      );
    dirs.set(dir, accountId);
  }
}

/** Only after a crash (a clean stop leaves an empty journal): worth a line for the operator. */
function logRecovery(store: FilePaperAccountStore, log: (message: string) => void): void {
  const found = store.opened;
  if (found === undefined || (found.replayed === 0 && !found.tornTail && found.dropped === 0)) return;
  log(
    `paper account recovered from its journal: ${found.replayed} change(s) replayed onto snapshot seq ${found.snapshotSeq ?? 'none'}` +
      `${found.tornTail ? ', a torn last line (never acknowledged) dropped' : ''}` +
      `${found.dropped > 0 ? `, ${found.dropped} change(s) after the missing change ${found.missingChange ?? '?'} not applied` : ''}`,
  );
}

/** Runs `run` on every item, at most FILE_CONCURRENCY at once; the outcomes in item order. */
async function settleLimited<T, R>(
  items: readonly T[],
  run: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const outcomes: PromiseSettledResult<R>[] = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        outcomes[i] = { status: 'fulfilled', value: await run(items[i], i) };
      } catch (reason) {
        outcomes[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FILE_CONCURRENCY, items.length) }, worker));
  return outcomes;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
