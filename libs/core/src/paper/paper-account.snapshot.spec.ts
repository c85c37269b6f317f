import { Retcode } from '../broker/retcodes';
import { PaperAccount, parsePaperAccountSnapshot, type PaperAccountSnapshot } from './paper-account';
import { newAccount, T0 } from './paper-test-helpers';

const OPTIONS = { balance: 10_000, symbols: ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'], seed: 42 };

function busyAccount(): PaperAccount {
  const account = newAccount();
  account.open(
    { request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.5, sl: 1.07, magic: 19019, comment: 'o-1' },
    T0,
  );
  account.open({ request_id: 'o-2', symbol: 'USDJPY', type: 'sell', volume: 0.2 }, T0 + 5_000);
  const gold = account.open({ request_id: 'o-3', symbol: 'XAUUSD', type: 'buy', volume: 0.1 }, T0 + 9_000);
  account.close({ request_id: 'c-3', ticket: gold.position }, T0 + 30_000);
  return account;
}

const viaJson = (snapshot: PaperAccountSnapshot): PaperAccountSnapshot =>
  JSON.parse(JSON.stringify(snapshot));

describe('PaperAccount snapshot and restore', () => {
  it('restores balance, positions, equity and ticket numbers exactly, through JSON', () => {
    const account = busyAccount();
    const restored = PaperAccount.restore(viaJson(account.snapshot()), OPTIONS);
    const at = T0 + 30_000;
    expect(restored.positions(at)).toEqual(account.positions(at));
    expect(restored.account(at)).toEqual(account.account(at));
    expect(restored.snapshot()).toEqual(account.snapshot());
    const next = { request_id: 'o-4', symbol: 'GBPUSD', type: 'buy' as const, volume: 0.1 };
    expect(restored.open(next, at)).toEqual(account.open(next, at));
  });

  it('continues the price walks where they stopped, so both copies agree later', () => {
    const account = busyAccount();
    const restored = PaperAccount.restore(viaJson(account.snapshot()), OPTIONS);
    for (const t of [T0 + 60_000, T0 + 600_000]) {
      expect(restored.account(t)).toEqual(account.account(t));
      expect(restored.quote('EURUSD', t)).toEqual(account.quote('EURUSD', t));
    }
  });

  it('keeps the idempotency store: a replayed request after a restart does not trade again', () => {
    const account = busyAccount();
    const restored = PaperAccount.restore(viaJson(account.snapshot()), OPTIONS);
    const replay = restored.open(
      { request_id: 'o-2', symbol: 'USDJPY', type: 'sell', volume: 0.2 },
      T0 + 40_000,
    );
    expect(replay).toMatchObject({ retcode: Retcode.DONE, position: 100_002 });
    expect(restored.positions(T0 + 40_000)).toHaveLength(2);
  });

  it('keeps quoting the symbol of an open position that PAPER_SYMBOLS no longer lists', () => {
    const account = busyAccount();
    const restored = PaperAccount.restore(viaJson(account.snapshot()), { ...OPTIONS, symbols: ['EURUSD'] });
    expect(restored.symbols()).toEqual(['EURUSD', 'USDJPY']);
    expect(restored.close({ request_id: 'c-2', ticket: 100_002 }, T0 + 40_000).retcode).toBe(Retcode.DONE);
  });

  it('ignores PAPER_BALANCE on restore: the saved balance wins', () => {
    const account = busyAccount();
    const restored = PaperAccount.restore(viaJson(account.snapshot()), { ...OPTIONS, balance: 1 });
    expect(restored.account(T0 + 30_000).balance).toBe(account.account(T0 + 30_000).balance);
  });

  it.each([
    [null, 'snapshot must be an object'],
    [{ version: 2 }, 'unsupported version 2'],
    [
      { version: 1, balance: '1', nextOrder: 1, nextDeal: 1, positions: [], walks: {}, requests: [] },
      'balance must be a finite number',
    ],
    [
      {
        version: 1,
        balance: 1,
        nextOrder: 1,
        nextDeal: 1,
        positions: [{ type: 'long' }],
        walks: {},
        requests: [],
      },
      'positions[0].type must be buy or sell',
    ],
    [
      {
        version: 1,
        balance: 1,
        nextOrder: 1,
        nextDeal: 1,
        positions: [],
        walks: { EURUSD: { mid: -1, rng: 1, lastStep: null } },
        requests: [],
      },
      'walks.EURUSD.mid must be positive',
    ],
    [
      {
        version: 1,
        balance: 1,
        nextOrder: 1,
        nextDeal: 1,
        positions: [],
        walks: {},
        requests: [{ requestId: 'x', at: 0 }],
      },
      'requests[0].result must be an object',
    ],
  ])('refuses a malformed snapshot %#, naming the field', (value, message) => {
    expect(() => parsePaperAccountSnapshot(value)).toThrow(message);
  });

  it('refuses a snapshot whose positions collide with the next ticket number', () => {
    const snapshot = viaJson(busyAccount().snapshot());
    snapshot.nextOrder = 100_001;
    expect(() => PaperAccount.restore(snapshot, OPTIONS)).toThrow('not below nextOrder');
  });
});
