import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, PaperAccount, Retcode } from '@app/core';
import {
  FilePaperAccountStore,
  loadPaperAccountSnapshotFile,
  PAPER_JOURNAL_FILE,
  PAPER_SNAPSHOT_FILE,
} from './file-paper-account-store';
import { PaperBrokerGateway } from './paper-broker-gateway';

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

  /** A gateway on a store opened in `dir`, as the app builds it. */
  async function start(clock: ManualClock, options = OPTIONS) {
    const store = new FilePaperAccountStore(join(dir, 'state'));
    stores.push(store);
    const account = await store.open(options);
    return { store, account, gateway: new PaperBrokerGateway(account, clock, store) };
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
    expect(second.store.opened).toEqual({ snapshotSeq: 0, replayed: 6, skipped: 0, tornTail: false });
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
    expect(second.store.opened).toEqual({ snapshotSeq: 2, replayed: 0, skipped: 0, tornTail: false });
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
    expect(second.store.opened).toEqual({ snapshotSeq: 0, replayed: 2, skipped: 0, tornTail: true });
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
