import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, PaperMarket, Retcode, type BrokerResult } from '@app/core';
import { describeBrokerGatewayContract } from '../testing/broker-gateway-contract';
import { PAPER_JOURNAL_FILE, PAPER_SNAPSHOT_FILE } from './file-paper-account-store';
import { openPaperFleet, type PaperAccountSpec, type PaperFleet } from './paper-fleet';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const OPTIONS = { symbols: ['EURUSD', 'XAUUSD'], seed: 42, stopOutLevelPercent: 50 };

function value<T>(result: BrokerResult<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

async function journalLines(dir: string): Promise<string[]> {
  return (await readFile(join(dir, PAPER_JOURNAL_FILE), 'utf8')).split('\n').filter((l) => l !== '');
}

/** EURUSD bids at T0, T0 + 1 s, ... (the shared market's path; a shock of XAUUSD does not touch it). */
function bidPath(seconds: number): number[] {
  const market = new PaperMarket(OPTIONS);
  return Array.from({ length: seconds + 1 }, (_, k) => {
    market.advanceTo(T0 + k * 1000);
    return market.quote('EURUSD')!.bid;
  });
}

/** Seconds after `from` where the bid goes under every earlier bid. */
function newLows(path: readonly number[], from: number): number[] {
  const lows: number[] = [];
  let low = Math.min(...path.slice(0, from + 1));
  for (let k = from + 1; k < path.length; k++) {
    if (path[k] < low) lows.push(k);
    low = Math.min(low, path[k]);
  }
  return lows;
}

describe('openPaperFleet', () => {
  let root: string;
  /** Fleets a test leaves open (a crash); closed after it, so no file handle leaks. */
  let open: PaperFleet[];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'paper-fleet-'));
    open = [];
  });
  afterEach(async () => {
    for (const fleet of open.reverse()) await fleet.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  const specs = (base: string, balances = [10_000, 20_000]): PaperAccountSpec[] =>
    balances.map((balance, i) => ({
      accountId: `acc-${i}`,
      stateDir: join(root, base, `acc-${i}`),
      balance,
    }));

  async function start(base: string, clock: ManualClock, balances?: number[]): Promise<PaperFleet> {
    const fleet = await openPaperFleet(OPTIONS, specs(base, balances), clock);
    open.push(fleet);
    return fleet;
  }

  it('trades every account in its own directory on one market: one moment, one quote', async () => {
    const clock = new ManualClock(T0 + 5_000);
    const fleet = await start('live', clock, [10_000, 20_000, 30_000]);
    expect(fleet.accountIds()).toEqual(['acc-0', 'acc-1', 'acc-2']);
    const quote = value(await fleet.gateway('acc-2').symbol('EURUSD'));
    const fills = await Promise.all(
      (['buy', 'sell', 'buy'] as const).map(async (type, i) =>
        value(
          await fleet
            .gateway(`acc-${i}`)
            .openPosition({ request_id: 'o-1', symbol: 'EURUSD', type, volume: 0.1 }),
        ),
      ),
    );
    expect(fills.map((f) => [f.retcode, f.price])).toEqual([
      [Retcode.DONE, quote.ask],
      [Retcode.DONE, quote.bid],
      [Retcode.DONE, quote.ask],
    ]);
    expect(fleet.market.subscriberCount).toBe(3);
    for (const [i, balance] of [10_000, 20_000, 30_000].entries()) {
      expect(value(await fleet.gateway(`acc-${i}`).account()).balance).toBe(balance);
      expect(await journalLines(join(root, 'live', `acc-${i}`))).toHaveLength(1);
    }
    expect(() => fleet.gateway('nobody')).toThrow('no paper account "nobody"');
  });

  it('after a crash, closes at their level and step the stops two accounts with different last changes crossed while down, once each', async () => {
    const end = T0 + 3_600_000;
    const path = bidPath(3_600);
    const [k1, k2] = newLows(path, 60);
    expect(k2).toBeDefined();
    const clock = new ManualClock(T0);
    const live = await start('live', clock);
    const [a, b] = [live.gateway('acc-0'), live.gateway('acc-1')];
    value(
      await a.openPosition({ request_id: 'a', symbol: 'EURUSD', type: 'buy', volume: 0.1, sl: path[k1] }),
    );
    clock.set(T0 + 60_000);
    value(await b.applyPriceShock('XAUUSD', 3));
    value(
      await b.openPosition({ request_id: 'b', symbol: 'EURUSD', type: 'buy', volume: 0.3, sl: path[k2] }),
    );
    // The process dies here: A's last change is at T0, B's at T0 + 60 s.
    await cp(join(root, 'live'), join(root, 'crashed'), { recursive: true });

    // The live process goes on, only A's gateway reading: B's close is made in A's calls and
    // waits in B, unrecorded, until B's gateway is called.
    for (let t = T0 + 70_000; t <= end; t += 10_000) {
      clock.set(t);
      value(await a.account());
    }
    expect(await journalLines(join(root, 'live', 'acc-1'))).toHaveLength(1);
    await b.flush();
    expect(await journalLines(join(root, 'live', 'acc-1'))).toHaveLength(2);

    const logged: string[] = [];
    const restarted = await openPaperFleet(OPTIONS, specs('crashed'), new ManualClock(end), (id, message) =>
      logged.push(`${id}: ${message}`),
    );
    open.push(restarted);
    expect(restarted.caughtUp).toEqual({ stepped: 3_600, skipped: 0 });
    for (const [i, k] of [k1, k2].entries()) {
      const gateway = restarted.gateway(`acc-${i}`);
      const twin = live.gateway(`acc-${i}`);
      const deals = value(await gateway.deals(100_001));
      expect(deals.map((d) => d.entry)).toEqual(['in', 'out']);
      expect(deals[1]).toMatchObject({
        reason: 'sl',
        price: path[k],
        time: new Date(T0 + k * 1000).toISOString(),
      });
      expect(deals).toEqual(value(await twin.deals(100_001)));
      expect(value(await gateway.positions())).toEqual([]);
      expect(value(await gateway.account())).toEqual(value(await twin.account()));
      // Recorded once, before openPaperFleet resolved: the trade replayed from the journal was
      // compacted into the snapshot, the close is the journal's one line.
      const lines = await journalLines(join(root, 'crashed', `acc-${i}`));
      expect(lines.map((l) => (JSON.parse(l) as { change: { request: unknown } }).change.request)).toEqual([
        null,
      ]);
    }
    expect(logged).toEqual(
      expect.arrayContaining([
        'acc-0: 1 position close(s) from stops crossed while the process was down',
        'acc-1: 1 position close(s) from stops crossed while the process was down',
      ]),
    );
    // B's shock came back from its record: the restarted market quotes what the live one does.
    expect(value(await restarted.gateway('acc-0').symbol('XAUUSD'))).toEqual(
      value(await live.gateway('acc-0').symbol('XAUUSD')),
    );

    // Another crash and restart later: nothing to close again.
    await cp(join(root, 'crashed'), join(root, 'again'), { recursive: true });
    const again = await start('again', new ManualClock(end + 600_000));
    for (const i of [0, 1]) {
      expect(value(await again.gateway(`acc-${i}`).deals(100_001))).toHaveLength(2);
      expect(await journalLines(join(root, 'again', `acc-${i}`))).toEqual([]);
    }
  });

  it('changes nothing on a restart without downtime', async () => {
    const clock = new ManualClock(T0);
    const fleet = await start('live', clock);
    const { bid } = value(await fleet.gateway('acc-0').symbol('EURUSD'));
    for (const [i, id] of fleet.accountIds().entries())
      value(
        await fleet.gateway(id).openPosition({
          request_id: 'o',
          symbol: 'EURUSD',
          type: 'buy',
          volume: 0.1 * (i + 1),
          sl: bid - 0.001,
        }),
      );
    clock.advance(45_000);
    value(await fleet.gateway('acc-1').account());
    await fleet.close();
    const files = async () =>
      Promise.all(
        fleet.accountIds().map((id) => readFile(join(root, 'live', id, PAPER_SNAPSHOT_FILE), 'utf8')),
      );
    const before = await files();

    const restarted = await start('live', clock);
    expect(restarted.caughtUp).toEqual({ stepped: 0, skipped: 0 });
    expect(await files()).toEqual(before);
    for (const id of restarted.accountIds())
      expect(value(await restarted.gateway(id).positions())).toEqual(
        value(await fleet.gateway(id).positions()),
      );
  });

  it('refuses two accounts with one id or one directory, and names an account it cannot open', async () => {
    const clock = new ManualClock(T0);
    const [one, two] = specs('x');
    await expect(openPaperFleet(OPTIONS, [one, { ...two, accountId: one.accountId }], clock)).rejects.toThrow(
      'listed twice',
    );
    await expect(openPaperFleet(OPTIONS, [one, { ...two, stateDir: one.stateDir }], clock)).rejects.toThrow(
      'share',
    );
    await (await openPaperFleet(OPTIONS, [one, two], clock)).close();
    await writeFile(join(two.stateDir, PAPER_SNAPSHOT_FILE), '{ not json');
    await expect(openPaperFleet(OPTIONS, [one, two], clock)).rejects.toThrow(
      /paper account acc-1 could not be opened: paper account state .* is corrupt/,
    );
  });
});

describe('a paper fleet gateway', () => {
  let root: string;
  describeBrokerGatewayContract('paper fleet of 2', async () => {
    root = await mkdtemp(join(tmpdir(), 'paper-fleet-contract-'));
    const fleet = await openPaperFleet(
      { symbols: ['EURUSD', 'GBPUSD'], seed: 42 },
      ['a', 'b'].map((id) => ({ accountId: id, stateDir: join(root, id), balance: 10_000 })),
      new ManualClock(),
    );
    return {
      gateway: fleet.gateway('b'),
      teardown: async () => {
        await fleet.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  });
});
