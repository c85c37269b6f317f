import { ManualClock, PaperAccount, Retcode, type PaperAccountSnapshot } from '@app/core';
import { PaperBrokerGateway, type PaperAccountPersistence } from './paper-broker-gateway';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const OPTIONS = { balance: 10_000, symbols: ['EURUSD', 'USDJPY'], seed: 42 };

/** Records saves; a save can be held open or made to fail. */
class FakePersistence implements PaperAccountPersistence {
  saved: PaperAccountSnapshot[] = [];
  failNext = 0;
  hold?: Promise<void>;

  async save(snapshot: PaperAccountSnapshot): Promise<void> {
    if (this.hold) await this.hold;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('disk full');
    }
    this.saved.push(JSON.parse(JSON.stringify(snapshot)));
  }
}

function setup(persistence?: PaperAccountPersistence) {
  const clock = new ManualClock(T0);
  const account = new PaperAccount(OPTIONS);
  return { clock, account, gateway: new PaperBrokerGateway(account, clock, persistence) };
}

describe('PaperBrokerGateway', () => {
  it('reports health, account and positions at the clock time', async () => {
    const { gateway, clock } = setup();
    expect(await gateway.health()).toEqual({ ok: true, value: { connected: true } });
    await gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 1 });
    expect(await gateway.account()).toEqual({
      ok: true,
      value: { login: 1001, currency: 'USD', balance: 10_000, equity: 9990, margin: 1085.05, margin_free: 8904.95, server_time: '2026-11-24T10:00:00.000Z' },
    });
    clock.advance(5_000);
    const positions = await gateway.positions();
    expect(positions.ok && positions.value[0]?.time).toBe('2026-11-24T10:00:00.000Z');
    expect(await gateway.account()).toMatchObject({ ok: true, value: { server_time: '2026-11-24T10:00:05.000Z' } });
  });

  it('returns failed trades as ok results carrying the retcode', async () => {
    const { gateway } = setup();
    expect(await gateway.openPosition({ request_id: 'o-bad', symbol: 'EURUSD', type: 'buy', volume: Number.NaN })).toMatchObject({
      ok: true,
      value: { retcode: Retcode.INVALID_VOLUME },
    });
    expect(await gateway.closePosition({ request_id: 'c-none', ticket: 9 })).toMatchObject({ ok: true, value: { retcode: Retcode.POSITION_CLOSED } });
  });

  it('saves the snapshot with the fill before it answers', async () => {
    const persistence = new FakePersistence();
    let release: () => void = () => undefined;
    persistence.hold = new Promise<void>((resolve) => (release = resolve));
    const { gateway } = setup(persistence);
    let answered = false;
    const pending = gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    release();
    const result = await pending;
    expect(result).toMatchObject({ ok: true, value: { retcode: Retcode.DONE, position: 100_001 } });
    expect(persistence.saved).toHaveLength(1);
    expect(persistence.saved[0]?.positions).toMatchObject([{ ticket: 100_001, symbol: 'EURUSD', volume: 0.1 }]);
    expect(persistence.saved[0]?.requests.map((r) => r.requestId)).toEqual(['o-1']);
  });

  it('saves a newly stored failure and a close, but not a repeat or a read', async () => {
    const persistence = new FakePersistence();
    const { gateway } = setup(persistence);
    await gateway.openPosition({ request_id: 'o-bad', symbol: 'EURUSD', type: 'buy', volume: 0 });
    expect(persistence.saved).toHaveLength(1);
    await gateway.openPosition({ request_id: 'o-bad', symbol: 'EURUSD', type: 'buy', volume: 0 });
    await gateway.account();
    await gateway.positions();
    expect(persistence.saved).toHaveLength(1);
    await gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    await gateway.closePosition({ request_id: 'c-1', ticket: 100_001 });
    expect(persistence.saved).toHaveLength(3);
    expect(persistence.saved[2]?.positions).toEqual([]);
  });

  it('answers unknown_outcome when saving fails, and the retry with the same id saves without trading again', async () => {
    const persistence = new FakePersistence();
    persistence.failNext = 1;
    const { gateway, account } = setup(persistence);
    const request = { request_id: 'o-1', symbol: 'EURUSD', type: 'buy' as const, volume: 0.1 };
    const first = await gateway.openPosition(request);
    expect(first.ok).toBe(false);
    expect(!first.ok && first.error).toMatchObject({ kind: 'unknown_outcome', code: 'persist_failed' });
    expect(!first.ok && first.error.message).toContain('DONE for request o-1 (position 100001)');
    expect(!first.ok && first.error.message).toContain('disk full');
    expect(persistence.saved).toHaveLength(0);

    const retry = await gateway.openPosition(request);
    expect(retry).toMatchObject({ ok: true, value: { retcode: Retcode.DONE, position: 100_001 } });
    expect(persistence.saved).toHaveLength(1);
    expect(account.positions(T0)).toHaveLength(1);
  });

  it('serialises concurrent saves so the last one written holds every fill', async () => {
    const persistence = new FakePersistence();
    const { gateway } = setup(persistence);
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => gateway.openPosition({ request_id: `o-${i}`, symbol: 'USDJPY', type: 'buy', volume: 0.01 })),
    );
    expect(results.every((r) => r.ok && r.value.retcode === Retcode.DONE)).toBe(true);
    expect(persistence.saved.at(-1)?.positions).toHaveLength(5);
  });

  it('works without persistence', async () => {
    const { gateway } = setup();
    expect(await gateway.openPosition({ request_id: 'o-1', symbol: 'USDJPY', type: 'sell', volume: 0.1 })).toMatchObject({
      ok: true,
      value: { retcode: Retcode.DONE, price: 149.995 },
    });
  });
});
