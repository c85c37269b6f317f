/**
 * SharedAccounts (docs/scale-out.md), in virtual time, on a fake ScaleOut:
 * the ownership side, the pickup and the commands, as a process sees them.
 */
import {
  AccountRegistry,
  ManualScheduler,
  silentLogger,
  type AccountCommand,
  type AccountRuntime,
  type AccountState,
  type PendingCommand,
  type PendingWork,
  type ScaleOut,
  type TradeSignal,
} from '@app/core';
import { AccountConfigs, type AccountConfig } from '@app/config';
import { SharedAccounts } from './shared-accounts';

const T0 = Date.UTC(2026, 10, 30, 10, 0, 0);

const signal = (id: string): TradeSignal => ({
  id,
  instrument: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  createdAtMs: T0,
  receivedAtMs: T0,
  source: 'inbox',
});

const accountConfig = (id: string) =>
  ({ id, channels: ['default'], gateway: 'paper' }) as unknown as AccountConfig;

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** What the account's runtime saw, in order. */
class FakeRuntime {
  readonly log: string[] = [];
  private started = false;
  halted = false;
  readonly settings = { channels: ['default'] };
  readonly guard = {
    manualHalt: () => {
      this.halted = true;
      this.log.push('halt');
      return Promise.resolve({ alreadyHalted: false, halt: { id: 'h1' } });
    },
    snapshot: () => ({ halt: null }),
  };

  constructor(readonly id: string) {}

  get ready(): boolean {
    return this.started;
  }

  isHalted(): boolean {
    return this.halted;
  }

  load(): Promise<void> {
    this.started = true;
    return Promise.resolve();
  }

  begin(): Promise<void> {
    this.log.push(this.halted ? 'begin (halted)' : 'begin (trading)');
    return Promise.resolve();
  }

  admit(s: TradeSignal): Promise<void> {
    this.log.push(`admit ${s.id}`);
    return Promise.resolve();
  }

  stopTrading(): Promise<void> {
    return Promise.resolve();
  }

  stop(): void {}
}

class FakeScaleOut {
  work: PendingWork[] = [];
  commands: PendingCommand[] = [];
  failPendingCommands = 0;
  owned = new Map<string, number>();
  private seq = 0;
  listener: Parameters<ScaleOut['listen']>[0] | undefined;

  accept(accountId: string, id: string): void {
    this.work.push({ accountId, signal: signal(id), status: 'accepted', seq: ++this.seq });
  }

  listen(listener: Parameters<ScaleOut['listen']>[0]): void {
    this.listener = listener;
  }
  onWork(): void {}
  onCommand(): void {}
  startOwning(): Promise<void> {
    return Promise.resolve();
  }
  mayTrade(id: string): boolean {
    return this.owned.has(id);
  }
  epochOf(id: string): number | undefined {
    return this.owned.get(id);
  }
  pendingWork(ids: readonly string[], afterSeq = 0): Promise<PendingWork[]> {
    return Promise.resolve(this.work.filter((w) => ids.includes(w.accountId) && w.seq > afterSeq));
  }
  pendingCommands(ids: readonly string[]): Promise<PendingCommand[]> {
    if (this.failPendingCommands > 0) {
      this.failPendingCommands--;
      return Promise.reject(new Error('connection terminated unexpectedly'));
    }
    return Promise.resolve(this.commands.filter((c) => ids.includes(c.accountId)));
  }
  completeCommand(command: PendingCommand): Promise<void> {
    this.commands = this.commands.filter((c) => c.id !== command.id);
    return Promise.resolve();
  }
  haltedAccounts(): Promise<ReadonlySet<string>> {
    return Promise.resolve(new Set());
  }
  deleteAccount(): Promise<boolean> {
    return Promise.resolve(true);
  }
  gain(accountId: string, epoch: number): void {
    this.owned.set(accountId, epoch);
    this.listener?.onGained({ accountId, epoch });
  }
  readAccounts(): Promise<void> {
    return Promise.resolve();
  }
  /** Given up here: as the ownership manager does, the lease is dropped and the loss told. */
  givenUp: string[] = [];
  lostElsewhere(accountId: string, epoch: number): void {
    if (this.owned.get(accountId) !== epoch) return;
    this.givenUp.push(`${accountId}@${epoch}`);
    this.owned.delete(accountId);
    this.listener?.onLost({ accountId, epoch }, 'taken_over');
  }
}

function setup(
  configured: string[],
  options: { holdRiskLoad?: Promise<void>; failOpens?: number; failRiskLoads?: number } = {},
) {
  let failOpens = options.failOpens ?? 0;
  let failRiskLoads = options.failRiskLoads ?? 0;
  const scheduler = new ManualScheduler(T0);
  const scaleOut = new FakeScaleOut();
  const registry = new AccountRegistry();
  const configs = new AccountConfigs(configured.map(accountConfig));
  const runtimes = new Map<string, FakeRuntime>();
  const state = (): AccountState =>
    ({
      riskState: {
        load: async () => {
          await options.holdRiskLoad;
          if (failRiskLoads-- > 0) throw new Error('Query read timeout');
          return undefined;
        },
      },
      audit: {},
      loaded: { problems: [], ledgerTrusted: true, where: 'db', unfinished: [] },
    }) as unknown as AccountState;
  const shared = new SharedAccounts(configs, scaleOut as unknown as ScaleOut, registry, {
    backend: {
      ledger: {} as never,
      openAccount: () =>
        failOpens-- > 0 ? Promise.reject(new Error('Query read timeout')) : Promise.resolve(state()),
    },
    build: (account) => {
      const runtime = new FakeRuntime(account.id);
      runtimes.set(account.id, runtime);
      return runtime as unknown as AccountRuntime;
    },
    brokers: { adopt: () => Promise.resolve(), release: () => Promise.resolve() },
    scheduler,
    logger: silentLogger,
  });
  return { scheduler, scaleOut, registry, configs, runtimes, shared };
}

describe('SharedAccounts', () => {
  it('control: a signal accepted for a ready account is admitted by the pickup (the fakes work)', async () => {
    const { scheduler, scaleOut, runtimes, shared } = setup(['acc']);
    await shared.start();
    scaleOut.gain('acc', 2);
    await scheduler.flush();
    scaleOut.accept('acc', 'sig-1');
    await scheduler.advanceAsync(2_000);
    expect(runtimes.get('acc')?.log).toEqual(['begin (trading)', 'admit sig-1']);
  });

  it('a signal accepted while a taken-over account is still loading is traded once it is ready', async () => {
    const hold = deferred();
    const { scheduler, scaleOut, runtimes, shared } = setup(['acc'], { holdRiskLoad: hold.promise });
    await shared.start();
    // The account is taken on; its risk state is being read from the database (a slow query).
    scaleOut.gain('acc', 2);
    await scheduler.flush();
    // Meanwhile a signal is accepted for it (by any process) and the pickup polls.
    scaleOut.accept('acc', 'sig-1');
    await scheduler.advanceAsync(1_000);
    // The account finishes loading and starts; the signal stays `accepted` in the database.
    hold.resolve();
    await scheduler.advanceAsync(10_000);
    expect(runtimes.get('acc')?.log).toContain('admit sig-1');
  });

  it('an account whose lease was taken before its row was read here is given up, and traded once taken again', async () => {
    // The lease was taken in the round that ran before this process read the new row (PUT).
    const { scheduler, scaleOut, registry, configs, shared } = setup([]);
    await shared.start();
    scaleOut.gain('new-acc', 1);
    await scheduler.flush();
    expect(registry.account('new-acc')).toBeUndefined();
    // Held but not tradable here, it is given up rather than renewed for nobody.
    expect(scaleOut.givenUp).toEqual(['new-acc@1']);
    // The next read of the rows (2 s later at most) brings the account; the lease, free again,
    // is taken at the next epoch (by this process here) and the account trades.
    configs.replace([accountConfig('new-acc')]);
    scaleOut.gain('new-acc', 2);
    await scheduler.advanceAsync(10_000);
    expect(registry.account('new-acc')).toBeDefined();
  });

  it('a halt asked while nobody owned the account is carried out before it trades, even after a failed read', async () => {
    const { scheduler, scaleOut, runtimes, shared } = setup(['acc']);
    await shared.start();
    const halt: AccountCommand = { kind: 'halt', reason: 'kill', by: 'ops' };
    scaleOut.commands.push({ id: 1, accountId: 'acc', command: halt });
    // The one read of the commands at take-over fails (a database blip).
    scaleOut.failPendingCommands = 1;
    scaleOut.gain('acc', 3);
    await scheduler.advanceAsync(5_000);
    const log = runtimes.get('acc')?.log ?? [];
    // Today: ['begin (trading)', 'halt'] - it trades for up to a second (the command poll) first.
    expect(log).toEqual(['halt', 'begin (halted)']);
  });

  it('a lease that lapses for a moment while the account is taken on (no onLost) does not leave it held and untraded', async () => {
    const hold = deferred();
    const { scheduler, scaleOut, runtimes, shared } = setup(['acc'], { holdRiskLoad: hold.promise });
    await shared.start();
    scaleOut.gain('acc', 4);
    await scheduler.flush();
    // A slow renewal: the lease's local validity runs out, then the renewal answers and it is
    // valid again; the ownership manager never dropped it, so no onLost comes.
    scaleOut.owned.delete('acc');
    hold.resolve();
    await scheduler.flush();
    scaleOut.owned.set('acc', 4);
    scaleOut.accept('acc', 'sig-after-lapse');
    await scheduler.advanceAsync(5_000);
    expect(runtimes.get('acc')?.log).toEqual(['begin (trading)', 'admit sig-after-lapse']);
  });

  it('an account lost while it is taken on is neither begun nor logged gained', async () => {
    const hold = deferred();
    const { scheduler, scaleOut, runtimes, shared } = setup(['acc'], { holdRiskLoad: hold.promise });
    await shared.start();
    scaleOut.gain('acc', 4);
    await scheduler.flush();
    scaleOut.owned.delete('acc');
    scaleOut.listener?.onLost({ accountId: 'acc', epoch: 4 }, 'expired');
    hold.resolve();
    await scheduler.advanceAsync(5_000);
    expect(runtimes.get('acc')?.log ?? []).toEqual([]);
  });

  it.each([
    ['its opening fails twice (a database query timeout)', { failOpens: 2 }],
    ['its risk state cannot be read (one failed batch of a takeover)', { failRiskLoads: 1 }],
  ])(
    'an account taken on when %s is taken on again shortly, neither held untraded nor given up',
    async (_what, failures) => {
      const { scheduler, scaleOut, runtimes, shared } = setup(['acc'], failures);
      await shared.start();
      scaleOut.gain('acc', 5);
      scaleOut.accept('acc', 'sig-1');
      await scheduler.advanceAsync(10_000);
      // Still held at the same epoch: taken on at a later try, and trading.
      expect(scaleOut.givenUp).toEqual([]);
      expect(runtimes.get('acc')?.log).toEqual(['begin (trading)', 'admit sig-1']);
    },
  );

  it('an account whose opening fails is not taken on again once its lease is lost', async () => {
    const { scheduler, scaleOut, runtimes, shared } = setup(['acc'], { failOpens: 1 });
    await shared.start();
    scaleOut.gain('acc', 5);
    await scheduler.flush();
    scaleOut.lostElsewhere('acc', 5);
    await scheduler.advanceAsync(10_000);
    expect(runtimes.get('acc')).toBeUndefined();
  });
});
