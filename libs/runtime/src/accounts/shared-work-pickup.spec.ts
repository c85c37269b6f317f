import { ManualScheduler, silentLogger, type PendingWork, type TradeSignal } from '@app/core';
import { SharedWorkPickup } from './shared-work-pickup';

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

/** The database's accepted work, as pendingWork reads it (after a cursor, oldest first). */
class AcceptedWork {
  rows: PendingWork[] = [];
  private seq = 0;
  reads: (number | undefined)[] = [];

  accept(accountId: string, id: string): void {
    this.rows.push({ accountId, signal: signal(id), status: 'accepted', seq: ++this.seq });
  }

  /** The account moved it on (approved, executed, rejected). */
  finish(accountId: string, id: string): void {
    this.rows = this.rows.filter((r) => !(r.accountId === accountId && r.signal.id === id));
  }

  pendingWork = (accountIds: readonly string[], afterSeq?: number): Promise<PendingWork[]> => {
    this.reads.push(afterSeq);
    return Promise.resolve(
      this.rows.filter((r) => accountIds.includes(r.accountId) && r.seq > (afterSeq ?? 0)),
    );
  };
}

function setup(owned: string[]) {
  const scheduler = new ManualScheduler(T0);
  const work = new AcceptedWork();
  const admitted: string[] = [];
  const pickup = new SharedWorkPickup(
    work,
    () => owned,
    {
      admit: (w) => {
        admitted.push(`${w.accountId}/${w.signal.id}`);
        return Promise.resolve(true);
      },
    },
    scheduler,
    silentLogger,
  );
  return { scheduler, work, admitted, pickup };
}

describe('SharedWorkPickup: each (account, signal) accepted anywhere is admitted once by its owner', () => {
  it('admits new work once, however often it is read while still accepted', async () => {
    const { scheduler, work, admitted, pickup } = setup(['a', 'b']);
    pickup.adopted('a', []);
    pickup.adopted('b', []);
    pickup.start();
    work.accept('a', 's1');
    work.accept('b', 's1');
    work.accept('c', 's1'); // not owned here
    pickup.wake();
    await scheduler.advanceAsync(10);
    // Auto approval writes nothing: the rows stay accepted until their outcome; reads go on.
    for (let i = 0; i < 12; i++) await scheduler.advanceAsync(1_000);
    expect(admitted).toEqual(['a/s1', 'b/s1']);
    // Most reads start after the cursor; every fifth reads everything again.
    expect(work.reads.filter((r) => r === 0).length).toBeGreaterThanOrEqual(2);
    expect(work.reads.some((r) => r !== undefined && r > 0)).toBe(true);
    pickup.stop();
  });

  it('finds work that committed behind the cursor at the next full read', async () => {
    const { scheduler, work, admitted, pickup } = setup(['a']);
    pickup.adopted('a', []);
    pickup.start();
    work.accept('a', 'later-seq');
    pickup.wake(); // the claim's notification
    await scheduler.advanceAsync(10);
    // Another process's claim with a lower seq commits only now.
    work.rows.unshift({ accountId: 'a', signal: signal('earlier-seq'), status: 'accepted', seq: 0.5 });
    for (let i = 0; i < 6; i++) await scheduler.advanceAsync(1_000);
    expect(admitted).toEqual(['a/later-seq', 'a/earlier-seq']);
    pickup.stop();
  });

  it('does not admit what the account took up at its start, nor work of an account it no longer owns', async () => {
    const owned = ['a'];
    const { scheduler, work, admitted, pickup } = setup(owned);
    work.accept('a', 'restored');
    pickup.adopted('a', ['restored']);
    pickup.start();
    await scheduler.advanceAsync(10);
    expect(admitted).toEqual([]);
    pickup.dropped('a');
    work.accept('a', 'after-loss');
    for (let i = 0; i < 6; i++) await scheduler.advanceAsync(1_000);
    expect(admitted).toEqual([]);
    pickup.stop();
  });

  it('forgets a pair once a full read no longer finds it accepted, and admits nothing twice meanwhile', async () => {
    const { scheduler, work, admitted, pickup } = setup(['a']);
    pickup.adopted('a', []);
    pickup.start();
    work.accept('a', 's1');
    pickup.wake();
    await scheduler.advanceAsync(10);
    work.finish('a', 's1');
    for (let i = 0; i < 11; i++) await scheduler.advanceAsync(1_000);
    expect(admitted).toEqual(['a/s1']);
    pickup.stop();
  });
});
