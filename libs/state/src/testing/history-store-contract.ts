import type { HistoryEvent, HistoryStore, RetentionPolicy } from '@app/core';

/** One history store under test, on storage of its own. */
export interface HistoryStoreFixture {
  store: HistoryStore;
  /** The same storage opened anew, as a restart would. */
  reopen(): Promise<HistoryStore>;
  teardown(): Promise<void>;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** Late in a UTC day, so a few hours later is the next day's file. */
const T0 = Date.UTC(2026, 10, 30, 22, 0, 0);
const RETENTION: RetentionPolicy = { retainMs: 90 * DAY, denseEquityMs: DAY };

export function received(accountId: string, at: number, signalId: string): HistoryEvent {
  return {
    type: 'signal_received',
    at,
    account_id: accountId,
    payload: {
      signal_id: signalId,
      instrument: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      source: 'inbox',
      created_at: new Date(at).toISOString(),
    },
  };
}

export function equity(accountId: string, at: number, value: number): HistoryEvent {
  return {
    type: 'equity_sample',
    at,
    account_id: accountId,
    payload: {
      equity: value,
      baseline_equity: 10_000,
      drawdown_percent: Math.max(0, (10_000 - value) / 100),
    },
  };
}

async function all(events: AsyncIterable<HistoryEvent>): Promise<HistoryEvent[]> {
  const out: HistoryEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** What every HistoryStore promises (docs/history.md), run against files and PostgreSQL. */
export function describeHistoryStoreContract(name: string, open: () => Promise<HistoryStoreFixture>): void {
  describe(`HistoryStore contract: ${name}`, () => {
    let fixture: HistoryStoreFixture;

    beforeEach(async () => {
      fixture = await open();
    });

    afterEach(async () => {
      await fixture.teardown();
    });

    it('reads back what it appended, oldest first, whole and equal, per account, across a restart', async () => {
      const a1 = received('acct-a', T0, 's-1');
      const b1 = received('acct-b', T0 + 1, 's-2');
      const a2 = equity('acct-a', T0 + 2, 9_950.5);
      await fixture.store.append([a1, b1]);
      await fixture.store.append([a2]);
      const store = await fixture.reopen();
      expect(await all(store.read('acct-a', { from: T0, to: T0 + HOUR }))).toEqual([a1, a2]);
      expect(await all(store.read('acct-b', { from: T0, to: T0 + HOUR }))).toEqual([b1]);
      expect(await all(store.read('acct-c', { from: T0, to: T0 + HOUR }))).toEqual([]);
    });

    it('reads a window: from included, to excluded, across days, and by type', async () => {
      const events = [
        received('acct-a', T0 - 1, 'before'),
        received('acct-a', T0, 'first'),
        equity('acct-a', T0 + HOUR, 10_000),
        received('acct-a', T0 + 5 * HOUR, 'next-day'),
        received('acct-a', T0 + 6 * HOUR, 'at-to'),
      ];
      await fixture.store.append(events);
      const window = { from: T0, to: T0 + 6 * HOUR };
      expect((await all(fixture.store.read('acct-a', window))).map((e) => e.at)).toEqual([
        T0,
        T0 + HOUR,
        T0 + 5 * HOUR,
      ]);
      expect((await all(fixture.store.read('acct-a', window, ['equity_sample']))).map((e) => e.type)).toEqual(
        ['equity_sample'],
      );
    });

    it('reads a window of many pages in order, without losing or repeating one at a page boundary', async () => {
      const events: HistoryEvent[] = [];
      // Several events share each millisecond: the pagination must not skip or repeat ties.
      for (let i = 0; i < 3_500; i++) events.push(received('acct-a', T0 + Math.floor(i / 3), `s-${i}`));
      for (let i = 0; i < events.length; i += 1_000) await fixture.store.append(events.slice(i, i + 1_000));
      const read = await all(fixture.store.read('acct-a', { from: T0, to: T0 + DAY }));
      expect(read.map((e) => (e.payload as { signal_id: string }).signal_id)).toEqual(
        events.map((e) => (e.payload as { signal_id: string }).signal_id),
      );
    });

    it('prunes what is older than retention, and thins equity samples older than 24 h to one per minute', async () => {
      const now = T0 + 100 * DAY;
      const old = now - 95 * DAY;
      const twoDaysAgo = now - 2 * DAY;
      const recent = now - HOUR;
      const events: HistoryEvent[] = [received('acct-a', old, 'expired'), equity('acct-a', old + 1, 10_000)];
      // Four samples a minute, two days ago and an hour ago, for 3 minutes each.
      for (let i = 0; i < 12; i++) events.push(equity('acct-a', twoDaysAgo + i * 15_000, 10_000 - i));
      events.push(received('acct-a', twoDaysAgo + 5_000, 'kept-signal'));
      for (let i = 0; i < 12; i++) events.push(equity('acct-a', recent + i * 15_000, 10_000 - i));
      await fixture.store.append(events);

      const removed = await fixture.store.prune(now, RETENTION);

      expect(removed).toBe(2 + 9);
      const left = await all(fixture.store.read('acct-a', { from: now - 100 * DAY, to: now }));
      expect(left.some((e) => e.at === old || e.at === old + 1)).toBe(false);
      const oldSamples = left.filter((e) => e.type === 'equity_sample' && e.at < now - DAY);
      expect(oldSamples.map((e) => Math.floor((e.at - twoDaysAgo) / MINUTE))).toEqual([0, 1, 2]);
      expect(oldSamples.map((e) => e.at)).toEqual([twoDaysAgo, twoDaysAgo + MINUTE, twoDaysAgo + 2 * MINUTE]);
      expect(left.filter((e) => e.type === 'signal_received').map((e) => e.at)).toEqual([twoDaysAgo + 5_000]);
      expect(left.filter((e) => e.type === 'equity_sample' && e.at >= now - DAY)).toHaveLength(12);
      // Pruning again removes nothing more.
      expect(await fixture.store.prune(now, RETENTION)).toBe(0);
    });

    it('appends again after a prune rewrote a day', async () => {
      const now = T0 + 3 * DAY;
      const samples = [0, 10_000, 20_000].map((d) => equity('acct-a', now - 2 * DAY + d, 10_000));
      await fixture.store.append(samples);
      expect(await fixture.store.prune(now, RETENTION)).toBe(2);
      const late = received('acct-a', now - 2 * DAY + 30_000, 'late');
      await fixture.store.append([late]);
      const left = await all(fixture.store.read('acct-a', { from: now - 3 * DAY, to: now }));
      expect(left).toEqual([samples[0], late]);
    });
  });
}
