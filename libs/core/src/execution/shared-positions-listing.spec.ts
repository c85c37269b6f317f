import { ok, type BrokerResult } from '../broker/broker-error';
import type { Position } from '../broker/broker-types';
import { positionFixture } from '../testing/position-fixture';
import { ManualScheduler } from '../time/scheduler';
import { SharedPositionsListing } from './shared-positions-listing';

/** A broker listing that answers when the test says, reading the positions at that moment. */
function slowListing(scheduler: ManualScheduler) {
  const calls: { askedAt: number; answer: (positions: Position[]) => void }[] = [];
  const list = () =>
    new Promise<BrokerResult<Position[]>>((resolve) =>
      calls.push({ askedAt: scheduler.now(), answer: (positions) => resolve(ok(positions)) }),
    );
  return { calls, listing: new SharedPositionsListing(list, scheduler) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('SharedPositionsListing', () => {
  it('callers while a listing is in flight share the next one, asked after them; never one asked before them', async () => {
    const scheduler = new ManualScheduler();
    const { calls, listing } = slowListing(scheduler);
    const t0 = scheduler.now();
    const first = listing.ask();
    expect(calls).toHaveLength(1);

    await scheduler.advanceAsync(1_000);
    // Three settlements ask while the first listing is in flight: none of them may use it.
    const joined = [listing.ask(), listing.ask(), listing.ask()];
    expect(calls).toHaveLength(1);
    calls[0]?.answer([]);
    expect(await first).toMatchObject({ askedAt: t0 });
    await flush();
    // One more listing, asked now (after all three), for the three of them.
    expect(calls).toHaveLength(2);
    expect(calls[1]?.askedAt).toBe(t0 + 1_000);
    const position = positionFixture({ comment: 'landed' });
    calls[1]?.answer([position]);
    for (const answer of await Promise.all(joined)) {
      expect(answer.askedAt).toBe(t0 + 1_000);
      expect(answer.listed).toEqual(ok([position]));
    }
  });

  it('a caller after every listing ended starts a new one at once', async () => {
    const scheduler = new ManualScheduler();
    const { calls, listing } = slowListing(scheduler);
    const t0 = scheduler.now();
    const first = listing.ask();
    calls[0]?.answer([]);
    await first;
    await flush();
    await scheduler.advanceAsync(500);
    const second = listing.ask();
    expect(calls).toHaveLength(2);
    calls[1]?.answer([]);
    expect(await second).toMatchObject({ askedAt: t0 + 500 });
  });
});
