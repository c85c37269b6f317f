import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, PaperAccount, Retcode, type PaperAccountSnapshot, type PaperChange } from '@app/core';
import {
  FilePaperAccountStore,
  loadPaperAccountSnapshotFile,
  PAPER_JOURNAL_FILE,
  PAPER_SNAPSHOT_FILE,
  planPaperReplay,
  type PaperJournalRecord,
} from './file-paper-account-store';
import { PaperBrokerGateway, type PaperAccountPersistence } from './paper-broker-gateway';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const OPTIONS = { balance: 10_000, symbols: ['EURUSD', 'USDJPY', 'XAUUSD'], seed: 42 };

async function journalLines(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, PAPER_JOURNAL_FILE), 'utf8');
  return text.split('\n').filter((line) => line !== '');
}

describe('FilePaperAccountStore', () => {
  let dir: string;
  /** Stores a test leaves open to simulate a crash; closed after it, so no file handle leaks. */
  let stores: FilePaperAccountStore[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'paper-'));
    stores = [];
  });
  afterEach(async () => {
    for (const store of stores.reverse()) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A gateway on a store opened in `dir`, as the app builds it; `persistence` may wrap the store. */
  async function start(
    clock: ManualClock,
    options = OPTIONS,
    persistence: (store: FilePaperAccountStore) => PaperAccountPersistence = (store) => store,
  ) {
    const store = new FilePaperAccountStore(join(dir, 'state'));
    stores.push(store);
    const account = await store.open(options);
    return { store, account, gateway: new PaperBrokerGateway(account, clock, persistence(store)) };
  }

  it('after a crash (no close), a new store on the same dir has the same positions, balance and stored results', async () => {
    const clock = new ManualClock(T0);
    const first = await start(clock);
    await first.gateway.openPosition({
      request_id: 'o-1',
      symbol: 'EURUSD',
      type: 'buy',
      volume: 0.5,
      comment: 'o-1',
    });
    clock.advance(15_000);
    await Promise.all([
      first.gateway.openPosition({ request_id: 'o-2', symbol: 'XAUUSD', type: 'sell', volume: 0.1 }),
      first.gateway.openPosition({ request_id: 'o-3', symbol: 'USDJPY', type: 'buy', volume: 0.3 }),
      first.gateway.openPosition({ request_id: 'o-bad', symbol: 'USDJPY', type: 'buy', volume: 0.015 }),
    ]);
    clock.advance(15_000);
    await first.gateway.closePosition({ request_id: 'c-1', ticket: 100_001 });
    await first.gateway.closePosition({ request_id: 'c-3', ticket: 100_003, volume: 0.1 });
    expect(await journalLines(join(dir, 'state'))).toHaveLength(6);
    // Dropped without close(): the process died. What is on disk is the startup snapshot and the journal.

    const second = await start(clock);
    expect(second.store.opened).toEqual({
      snapshotSeq: 0,
      replayed: 6,
      skipped: 0,
      dropped: 0,
      missingChange: undefined,
      lastChange: 6,
      tornTail: false,
    });
    // Walks included: the journal carries them, so the restarted account quotes the same prices.
    const restored = second.account.snapshot();
    expect(restored).toEqual(first.account.snapshot());
    expect(restored.positions.map((p) => [p.ticket, p.volume])).toEqual([
      [100_002, 0.1],
      [100_003, 0.2],
    ]);
    expect(await second.gateway.account()).toEqual(await first.gateway.account());
    expect(await second.gateway.positions()).toEqual(await first.gateway.positions());

    // A request repeated after the restart gets its stored answer and does not trade again.
    expect(
      await second.gateway.openPosition({ request_id: 'o-2', symbol: 'XAUUSD', type: 'sell', volume: 0.1 }),
    ).toMatchObject({
      ok: true,
      value: { retcode: Retcode.DONE, position: 100_002 },
    });
    expect(await second.gateway.closePosition({ request_id: 'c-1', ticket: 100_001 })).toMatchObject({
      ok: true,
      value: { retcode: Retcode.DONE },
    });
    expect(second.account.positions(clock.now())).toHaveLength(2);
    // New tickets continue after the old ones.
    expect(
      await second.gateway.openPosition({ request_id: 'o-4', symbol: 'EURUSD', type: 'buy', volume: 0.1 }),
    ).toMatchObject({
      ok: true,
      value: { position: 100_006 },
    });
    await second.store.close();
  });

  it('compacts on open and on close: the snapshot holds everything and the journal is empty', async () => {
    const clock = new ManualClock(T0);
    const first = await start(clock);
    await first.gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.5 });
    await first.gateway.openPosition({ request_id: 'o-2', symbol: 'EURUSD', type: 'buy', volume: 0.5 });
    await first.gateway.close();
    const state = join(dir, 'state');
    expect(await journalLines(state)).toEqual([]);
    const file = await loadPaperAccountSnapshotFile(join(state, PAPER_SNAPSHOT_FILE));
    expect(file?.journal_seq).toBe(2);
    expect(file?.snapshot.positions).toHaveLength(2);
    expect((await stat(join(state, PAPER_SNAPSHOT_FILE))).mode & 0o777).toBe(0o600);
    expect(
      await first.gateway.openPosition({ request_id: 'o-3', symbol: 'EURUSD', type: 'buy', volume: 0.5 }),
    ).toMatchObject({
      ok: false,
      error: { kind: 'unknown_outcome', code: 'persist_failed' },
    });

    const second = await start(clock);
    expect(second.store.opened).toEqual({
      snapshotSeq: 2,
      replayed: 0,
      skipped: 0,
      dropped: 0,
      missingChange: undefined,
      lastChange: 2,
      tornTail: false,
    });
    expect(second.account.positions(clock.now())).toHaveLength(2);
    // Numbering goes on after the snapshot's seq, so a later replay does not skip new records.
    await second.gateway.openPosition({ request_id: 'o-4', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    expect((await journalLines(state)).map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual([3]);
  });

  it('skips records the snapshot already holds (a crash between writing the snapshot and emptying the journal)', async () => {
    const clock = new ManualClock(T0);
    const state = join(dir, 'state');
    const first = await start(clock);
    await first.gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.5 });
    await first.gateway.closePosition({ request_id: 'c-1', ticket: 100_001, volume: 0.2 });
    const journal = await readFile(join(state, PAPER_JOURNAL_FILE), 'utf8');
    await first.store.close();
    await writeFile(join(state, PAPER_JOURNAL_FILE), journal); // as if the truncation never happened

    const second = await start(clock);
    expect(second.store.opened).toMatchObject({ replayed: 0, skipped: 2 });
    expect(second.account.snapshot()).toEqual(first.account.snapshot());
    expect(second.account.positions(clock.now())).toMatchObject([{ volume: 0.3 }]);
  });

  it('drops a torn last journal line (cut by a crash mid-write, never acknowledged) and keeps the rest', async () => {
    const clock = new ManualClock(T0);
    const state = join(dir, 'state');
    const first = await start(clock);
    await first.gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.5 });
    await first.gateway.openPosition({ request_id: 'o-2', symbol: 'USDJPY', type: 'buy', volume: 0.5 });
    await appendFile(
      join(state, PAPER_JOURNAL_FILE),
      '{"seq":3,"change":{"request":{"requestId":"o-3","at":',
    );

    const second = await start(clock);
    expect(second.store.opened).toEqual({
      snapshotSeq: 0,
      replayed: 2,
      skipped: 0,
      dropped: 0,
      missingChange: undefined,
      lastChange: 2,
      tornTail: true,
    });
    expect(second.account.positions(clock.now()).map((p) => p.ticket)).toEqual([100_001, 100_002]);
    expect(
      await second.gateway.openPosition({ request_id: 'o-3', symbol: 'XAUUSD', type: 'buy', volume: 0.1 }),
    ).toMatchObject({
      ok: true,
      value: { position: 100_003 },
    });
    await second.store.close();
    const third = await start(clock);
    expect(third.account.positions(clock.now())).toHaveLength(3);
  });

  it('refuses to start over a journal damaged in the middle, naming the file', async () => {
    const clock = new ManualClock(T0);
    const state = join(dir, 'state');
    const first = await start(clock);
    await first.gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.5 });
    await first.gateway.openPosition({ request_id: 'o-2', symbol: 'EURUSD', type: 'buy', volume: 0.5 });
    const [line1, line2] = await journalLines(state);
    await writeFile(join(state, PAPER_JOURNAL_FILE), `${line1.slice(0, 40)}\n${line2}\n`);
    await expect(new FilePaperAccountStore(state).open(OPTIONS)).rejects.toThrow(
      `paper account journal ${join(state, PAPER_JOURNAL_FILE)} is corrupt at line(s) 1`,
    );

    await writeFile(
      join(state, PAPER_JOURNAL_FILE),
      `${JSON.stringify({ seq: 1, change: { ticket: 'x' } })}\n`,
    );
    await expect(new FilePaperAccountStore(state).open(OPTIONS)).rejects.toThrow(
      /paper-account\.journal\.jsonl is corrupt: complete record 1: paper change: ticket must be a finite number/,
    );
  });

  it('loads a snapshot in the format before the journal (a bare snapshot) and rewrites it in the new one', async () => {
    const clock = new ManualClock(T0);
    const state = join(dir, 'state');
    const old = new PaperAccount(OPTIONS);
    old.open({ request_id: 'o-1', symbol: 'XAUUSD', type: 'sell', volume: 0.2 }, T0);
    await start(clock); // creates the directory
    await writeFile(join(state, PAPER_SNAPSHOT_FILE), JSON.stringify(old.snapshot()));

    const { account, store } = await start(clock);
    expect(store.opened).toMatchObject({ snapshotSeq: 0, replayed: 0 });
    expect(account.snapshot()).toEqual(old.snapshot());
    const rewritten = JSON.parse(await readFile(join(state, PAPER_SNAPSHOT_FILE), 'utf8')) as {
      journal_seq: number;
      snapshot: { positions: unknown[] };
    };
    expect(rewritten.journal_seq).toBe(0);
    expect(rewritten.snapshot.positions).toHaveLength(1);
  });

  it('after a crash, stop loss, take profit and stop-out closes made during reads stay closed, with their deals', async () => {
    const clock = new ManualClock(T0);
    const first = await start(clock);
    const eur = first.account.quote('EURUSD', T0)!;
    const round5 = (price: number) => Math.round(price * 1e5) / 1e5;
    await first.gateway.openPosition({
      request_id: 'o-sl',
      symbol: 'EURUSD',
      type: 'buy',
      volume: 0.5,
      sl: round5(eur.bid - 0.001),
    });
    await first.gateway.openPosition({
      request_id: 'o-tp',
      symbol: 'EURUSD',
      type: 'sell',
      volume: 0.5,
      tp: round5(eur.bid - 0.001),
    });
    await first.gateway.openPosition({ request_id: 'o-so', symbol: 'XAUUSD', type: 'buy', volume: 2 });
    await first.gateway.openPosition({
      request_id: 'o-kept',
      symbol: 'USDJPY',
      type: 'buy',
      volume: 0.1,
      sl: 100,
      tp: 200,
    });
    clock.advance(30_000);
    first.account.applyPriceShock('EURUSD', -1); // crosses the SL of o-sl and the TP of o-tp
    expect((await first.gateway.positions()).ok).toBe(true);
    first.account.applyPriceShock('XAUUSD', -2.2); // a stop-out of the gold position, enough on its own
    expect(await first.gateway.account()).toMatchObject({ ok: true });
    clock.advance(600_000); // a read that walks 600 steps with a position open
    expect(await first.gateway.positions()).toMatchObject({ ok: true, value: [{ ticket: 100_004 }] });
    // Dropped without close(): the process died.

    const second = await start(clock);
    expect(second.store.opened).toMatchObject({ replayed: 7, tornTail: false });
    expect(await second.gateway.positions()).toEqual(await first.gateway.positions());
    expect(await second.gateway.account()).toEqual(await first.gateway.account());
    // The last read recorded nothing (no close); once both walked to the same time they agree in full.
    expect(second.account.snapshot()).toEqual(first.account.snapshot());
    const reasons = async (gateway: PaperBrokerGateway, ticket: number) => {
      const deals = await gateway.deals(ticket);
      return deals.ok ? deals.value.map((d) => d.reason) : [];
    };
    expect(await reasons(second.gateway, 100_001)).toEqual(['expert', 'sl']);
    expect(await reasons(second.gateway, 100_002)).toEqual(['expert', 'tp']);
    expect(await reasons(second.gateway, 100_003)).toEqual(['expert', 'so']);
    for (const ticket of [100_001, 100_002, 100_003, 100_004])
      expect(await second.gateway.deals(ticket)).toEqual(await first.gateway.deals(ticket));
    // Trades after the restart go on where the live account would have.
    const next = { request_id: 'o-next', symbol: 'EURUSD', type: 'buy' as const, volume: 0.1 };
    expect(await second.gateway.openPosition(next)).toEqual(await first.gateway.openPosition(next));
  });

  it('retries the journal write of an automatic close that failed, until it is on disk', async () => {
    const clock = new ManualClock(T0);
    let failures = 0;
    const flaky = (store: FilePaperAccountStore): PaperAccountPersistence => ({
      record: (change: PaperChange) =>
        change.request === null && failures-- > 0
          ? Promise.reject(new Error('disk full'))
          : store.record(change),
      close: () => store.close(),
    });
    const first = await start(clock, OPTIONS, flaky);
    const { bid } = first.account.quote('EURUSD', T0)!;
    const opened = await first.gateway.openPosition({
      request_id: 'o-1',
      symbol: 'EURUSD',
      type: 'buy',
      volume: 0.5,
      sl: Math.round((bid - 0.001) * 1e5) / 1e5,
    });
    expect(opened).toMatchObject({ ok: true, value: { position: 100_001 } });
    first.account.applyPriceShock('EURUSD', -1);
    failures = 2;
    expect(await first.gateway.positions()).toEqual({ ok: true, value: [] }); // the read answers regardless
    expect(await first.gateway.account()).toMatchObject({ ok: true }); // its retry fails too
    expect(await journalLines(join(dir, 'state'))).toHaveLength(1);
    clock.advance(5_000);
    await first.gateway.health(); // this retry lands
    const lines = (await journalLines(join(dir, 'state'))).map(
      (line) => JSON.parse(line) as { change: PaperChange },
    );
    expect(lines).toHaveLength(2);
    expect(lines[1].change).toMatchObject({ request: null, ticket: 100_001, position: null });

    const second = await start(clock);
    expect(second.account.positions(clock.now())).toEqual([]);
    expect(second.account.snapshot().balance).toBe(first.account.snapshot().balance);
    expect(second.account.deals(100_001, clock.now()).map((d) => d.reason)).toEqual(['expert', 'sl']);
  });

  it('reads a snapshot and a journal written before the deal history', async () => {
    const clock = new ManualClock(T0);
    const state = join(dir, 'state');
    const first = await start(clock);
    await first.gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.5 });
    await first.gateway.openPosition({ request_id: 'o-2', symbol: 'USDJPY', type: 'buy', volume: 0.5 });
    const strip = (value: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'deals'));
    const snapshot = JSON.parse(await readFile(join(state, PAPER_SNAPSHOT_FILE), 'utf8')) as {
      journal_seq: number;
      snapshot: Record<string, unknown>;
    };
    await writeFile(
      join(state, PAPER_SNAPSHOT_FILE),
      JSON.stringify({ ...snapshot, snapshot: strip(snapshot.snapshot) }),
    );
    const old = (await journalLines(state)).map((line) => {
      const record = JSON.parse(line) as { seq: number; change: Record<string, unknown> };
      return JSON.stringify({ ...record, change: strip(record.change) });
    });
    await writeFile(join(state, PAPER_JOURNAL_FILE), `${old.join('\n')}\n`);

    const second = await start(clock);
    expect(second.store.opened).toMatchObject({ replayed: 2 });
    expect(second.account.positions(clock.now())).toEqual(first.account.positions(clock.now()));
    expect(second.account.deals(100_001, clock.now())).toEqual([]);
  });

  it('replays a snapshot and a journal written before change numbers in file order, an old re-record included', async () => {
    const clock = new ManualClock(T0);
    const state = join(dir, 'state');
    const first = await start(clock);
    await first.gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.5 });
    clock.advance(5_000);
    await first.gateway.openPosition({ request_id: 'o-2', symbol: 'USDJPY', type: 'buy', volume: 0.5 });
    clock.advance(5_000);
    await first.gateway.closePosition({ request_id: 'c-2', ticket: 100_002, volume: 0.2 });
    const snapshot = JSON.parse(await readFile(join(state, PAPER_SNAPSHOT_FILE), 'utf8')) as {
      journal_seq: number;
      snapshot: Record<string, unknown>;
    };
    const { lastChange, ...oldSnapshot } = snapshot.snapshot;
    expect(lastChange).toBe(0);
    await writeFile(join(state, PAPER_SNAPSHOT_FILE), JSON.stringify({ ...snapshot, snapshot: oldSnapshot }));
    const records = (await journalLines(state)).map((line) => JSON.parse(line) as PaperJournalRecord);
    const old = records.map(({ seq, change: { number, ...change } }) => {
      expect(number).toBe(seq);
      return { seq, change };
    });
    // The old gateway recorded a change again after a failed record with the totals of the moment
    // of the retry, appended after later changes: here o-1 again, with the totals after c-2.
    const last = old[2].change;
    old.push({
      seq: 4,
      change: {
        ...old[0].change,
        balance: last.balance,
        nextOrder: last.nextOrder,
        nextDeal: last.nextDeal,
        walks: last.walks,
      },
    });
    await writeFile(join(state, PAPER_JOURNAL_FILE), old.map((r) => `${JSON.stringify(r)}\n`).join(''));

    const second = await start(clock);
    expect(second.store.opened).toMatchObject({
      snapshotSeq: 0,
      replayed: 4,
      skipped: 0,
      dropped: 0,
      lastChange: 4,
    });
    // Numbered 1..4 in file order, as the old replay applied them: the same account (the re-record
    // made o-1 the newest stored id, as it did before).
    const books = (snapshot: PaperAccountSnapshot) => ({
      ...snapshot,
      lastChange: 0,
      requests: [...snapshot.requests].sort((a, b) => a.requestId.localeCompare(b.requestId)),
    });
    expect(books(second.account.snapshot())).toEqual(books(first.account.snapshot()));
    expect(await second.gateway.positions()).toEqual(await first.gateway.positions());
  });

  it('keeps the records it dropped beyond a gap out of any later replay (journal_seq covers them)', async () => {
    const clock = new ManualClock(T0);
    const state = join(dir, 'state');
    let failing = false;
    const first = await start(clock, OPTIONS, (store) => ({
      record: (change: PaperChange) =>
        failing && change.request?.requestId === 'o-2'
          ? Promise.reject(new Error('EIO'))
          : store.record(change),
      close: () => store.close(),
    }));
    await first.gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    failing = true;
    await first.gateway.openPosition({ request_id: 'o-2', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    expect(
      await first.gateway.openPosition({ request_id: 'o-3', symbol: 'EURUSD', type: 'buy', volume: 0.1 }),
    ).toMatchObject({ ok: false, error: { kind: 'unknown_outcome' } });
    const journal = await readFile(join(state, PAPER_JOURNAL_FILE), 'utf8'); // changes 1 and 3
    const second = await start(clock);
    expect(second.store.opened).toMatchObject({ replayed: 1, dropped: 1, missingChange: 2, lastChange: 1 });
    expect((await loadPaperAccountSnapshotFile(join(state, PAPER_SNAPSHOT_FILE)))?.journal_seq).toBe(2);
    // A crash between the snapshot and the journal's truncation: the dropped record stays skipped.
    await writeFile(join(state, PAPER_JOURNAL_FILE), journal);
    const third = await start(clock);
    expect(third.store.opened).toMatchObject({ replayed: 0, skipped: 2, dropped: 0, lastChange: 1 });
    expect(third.account.snapshot()).toEqual(second.account.snapshot());
  });

  it('throws an error naming the snapshot file when it is not JSON or not a snapshot', async () => {
    const path = join(dir, PAPER_SNAPSHOT_FILE);
    await writeFile(path, '{"version":1,"bal');
    await expect(loadPaperAccountSnapshotFile(path)).rejects.toThrow(
      `paper account state ${path} is corrupt`,
    );
    await writeFile(path, '{"version":1}');
    await expect(loadPaperAccountSnapshotFile(path)).rejects.toThrow(
      /paper-account\.json is corrupt: paper snapshot: positions must be an array/,
    );
    await writeFile(path, '{"journal_seq":-1,"snapshot":{}}');
    await expect(new FilePaperAccountStore(dir).open(OPTIONS)).rejects.toThrow(
      /paper-account\.json is corrupt: journal_seq must be a whole number/,
    );
    expect(await loadPaperAccountSnapshotFile(join(dir, 'missing.json'))).toBeUndefined();
  });
});

describe('planPaperReplay', () => {
  /** A record whose change is reduced to what the plan looks at: its number and a marker. */
  const rec = (seq: number, number: number | undefined, marker = `${number}`): PaperJournalRecord => ({
    seq,
    change: {
      ...(number === undefined ? {} : { number }),
      request: null,
      balance: 0,
      nextOrder: 0,
      nextDeal: 0,
      ticket: 0,
      position: null,
      walks: {},
      deals: [],
      marker,
    } as PaperChange,
  });
  const markers = (changes: PaperChange[]) =>
    changes.map((c) => `${c.number}:${(c as PaperChange & { marker: string }).marker}`);

  it('applies by change number from the snapshot on, the last record of each number, up to the first missing one', () => {
    const plan = planPaperReplay(
      [rec(1, 6), rec(2, 8), rec(3, 7, 'first try'), rec(4, 7, 'retry'), rec(5, 10), rec(6, 11)],
      0,
      5,
      'j',
    );
    expect(markers(plan.changes)).toEqual(['6:6', '7:retry', '8:8']);
    expect(plan).toMatchObject({ skipped: 1, dropped: 2, missingChange: 9, lastSeq: 6 });
  });

  it('skips what the snapshot holds, by record seq and by change number', () => {
    const plan = planPaperReplay([rec(1, 1), rec(2, 2), rec(3, 3), rec(4, 4)], 2, 3, 'j');
    expect(markers(plan.changes)).toEqual(['4:4']);
    expect(plan).toMatchObject({ skipped: 3, dropped: 0, missingChange: undefined, lastSeq: 4 });
  });

  it('numbers a record without a number (an old journal) after the record before it', () => {
    const plan = planPaperReplay(
      [rec(1, undefined, 'a'), rec(2, undefined, 'b'), rec(3, undefined, 'a again')],
      0,
      0,
      'j',
    );
    expect(markers(plan.changes)).toEqual(['1:a', '2:b', '3:a again']);
    expect(planPaperReplay([rec(5, undefined, 'x')], 4, 9, 'j').changes.map((c) => c.number)).toEqual([10]);
  });

  it('stops at once when the change after the snapshot is missing, and throws on seqs that do not grow', () => {
    expect(planPaperReplay([rec(1, 2), rec(2, 3)], 0, 0, 'j')).toMatchObject({
      changes: [],
      dropped: 2,
      missingChange: 1,
    });
    expect(() => planPaperReplay([rec(2, 1), rec(2, 2)], 0, 0, 'j')).toThrow(
      'paper account journal j is corrupt: seq 2 follows 2',
    );
  });
});
