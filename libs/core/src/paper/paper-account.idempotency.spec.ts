import { Retcode } from '../broker/retcodes';
import { newAccount, T0 } from './paper-test-helpers';

describe('PaperAccount idempotency (request_id)', () => {
  it('answers a repeated open with the stored fill and does not trade again', () => {
    const account = newAccount();
    const request = { request_id: 'o-sig-1', symbol: 'EURUSD', type: 'buy' as const, volume: 0.1 };
    const first = account.open(request, T0);
    const revision = account.revision;
    const again = account.open(request, T0 + 60_000);
    expect(again).toEqual(first);
    expect(account.positions(T0 + 60_000)).toHaveLength(1);
    expect(account.revision).toBe(revision);
    // Even a different body under the same id gets the stored answer: the id is the order.
    expect(account.open({ ...request, symbol: 'XAUUSD', volume: 5 }, T0 + 60_000)).toEqual(first);
    expect(account.positions(T0 + 60_000)).toHaveLength(1);
  });

  it('stores a final failure: the same id stays refused, a new id is a new attempt', () => {
    const account = newAccount();
    const refused = account.open({ request_id: 'o-x', symbol: 'EURUSD', type: 'buy', volume: 0.015 }, T0);
    expect(refused.retcode).toBe(Retcode.INVALID_VOLUME);
    expect(account.open({ request_id: 'o-x', symbol: 'EURUSD', type: 'buy', volume: 0.01 }, T0)).toEqual(
      refused,
    );
    expect(account.positions(T0)).toEqual([]);
    expect(
      account.open({ request_id: 'o-x#2', symbol: 'EURUSD', type: 'buy', volume: 0.01 }, T0).retcode,
    ).toBe(Retcode.DONE);
  });

  it('answers a repeated close with the stored fill, and a new close id with POSITION_CLOSED', () => {
    const account = newAccount();
    const { position } = account.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.4 }, T0);
    const half = account.close({ request_id: 'c-1', ticket: position, volume: 0.2 }, T0);
    expect(account.close({ request_id: 'c-1', ticket: position, volume: 0.2 }, T0)).toEqual(half);
    expect(account.positions(T0)).toMatchObject([{ volume: 0.2 }]);
    const rest = account.close({ request_id: 'c-2', ticket: position }, T0);
    expect(rest).toMatchObject({ retcode: Retcode.DONE, volume: 0.2 });
    expect(account.close({ request_id: 'c-2', ticket: position }, T0)).toEqual(rest);
    expect(account.close({ request_id: 'c-3', ticket: position }, T0).retcode).toBe(Retcode.POSITION_CLOSED);
    expect(account.account(T0).balance).toBe(9996); // 0.4 lots of spread, 4 USD, once
  });

  it('remembers an id for 24 hours of clock time, then forgets it', () => {
    const account = newAccount();
    const request = { request_id: 'o-day', symbol: 'EURUSD', type: 'buy' as const, volume: 0.1 };
    const first = account.open(request, T0);
    expect(account.open(request, T0 + 86_400_000 - 1)).toEqual(first);
    const later = account.open(request, T0 + 86_400_000);
    expect(later.retcode).toBe(Retcode.DONE);
    expect(later.order).not.toBe(first.order);
    expect(account.positions(T0 + 86_400_000)).toHaveLength(2);
  });

  it('caps the number of remembered ids, dropping the oldest first', () => {
    const account = newAccount({ idempotencyMaxEntries: 3 });
    const open = (id: string) =>
      account.open({ request_id: id, symbol: 'EURUSD', type: 'buy', volume: 0.01 }, T0);
    const [a, , , d] = ['a', 'b', 'c', 'd'].map(open);
    expect(account.snapshot().requests.map((r) => r.requestId)).toEqual(['b', 'c', 'd']);
    expect(open('d')).toEqual(d);
    expect(open('a').order).not.toBe(a.order); // forgotten: trades again
    expect(account.positions(T0)).toHaveLength(5);
  });

  it('refuses a request without an id and remembers nothing', () => {
    const account = newAccount();
    const revision = account.revision;
    expect(account.open({ request_id: '', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0)).toMatchObject({
      retcode: Retcode.INVALID,
      request_id: '',
    });
    expect(account.positions(T0)).toEqual([]);
    expect(account.revision).toBe(revision);
    expect(account.snapshot().requests).toEqual([]);
  });

  it('hands out copies: changing a returned result does not change the stored one', () => {
    const account = newAccount();
    const request = { request_id: 'o-copy', symbol: 'EURUSD', type: 'buy' as const, volume: 0.1 };
    const first = account.open(request, T0);
    first.price = 0;
    expect(account.open(request, T0).price).toBe(1.08505);
  });
});
