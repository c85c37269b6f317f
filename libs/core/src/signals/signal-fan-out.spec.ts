import type { Alert } from '../alerts/alert';
import { silentLogger } from '../logging/core-logger.port';
import type { SignalLedger, SignalTargets } from '../state/signal-ledger.port';
import { ManualClock } from '../time/clock';
import { SignalFanOut, type FanOutAccount, type FanOutDirectory } from './signal-fan-out';
import type { TradeSignal } from './trade-signal';

class Account implements FanOutAccount {
  halted = false;
  failAdmit = false;
  readonly admitted: TradeSignal[] = [];
  readonly rejected: TradeSignal[] = [];
  constructor(
    readonly id: string,
    readonly channels: string[],
  ) {}
  isHalted(): boolean {
    return this.halted;
  }
  admit(signal: TradeSignal): Promise<void> {
    if (this.failAdmit) return Promise.reject(new Error('disk full'));
    this.admitted.push(signal);
    return Promise.resolve();
  }
  rejectHalted(signal: TradeSignal): void {
    this.rejected.push(signal);
  }
}

function setUp() {
  const accounts = [
    new Account('a', ['default', 'fx']),
    new Account('b', ['fx']),
    new Account('c', ['gold']),
  ];
  const directory: FanOutDirectory = {
    account: (id) => accounts.find((a) => a.id === id),
    subscribers: (channel) => accounts.filter((a) => a.channels.includes(channel)),
    ready: () => true,
  };
  const claims: { id: string; targets: SignalTargets }[] = [];
  let failClaims = 0;
  const ledger: SignalLedger = {
    seen: (id) => claims.some((c) => c.id === id),
    claim: (signal, targets) => {
      if (failClaims > 0) {
        failClaims--;
        return Promise.reject(new Error('ENOSPC'));
      }
      if (claims.some((c) => c.id === signal.id)) return Promise.resolve('duplicate');
      claims.push({ id: signal.id, targets });
      return Promise.resolve('claimed');
    },
    update: () => Promise.resolve(),
  };
  const alerts: Alert[] = [];
  const fanOut = new SignalFanOut(
    { loopId: 'loop', where: '/state' },
    {
      ledger,
      accounts: directory,
      stopping: () => false,
      alerts: { send: (alert) => alerts.push(alert) },
      clock: new ManualClock(),
      logger: silentLogger,
    },
  );
  const byId = (id: string) => accounts.find((a) => a.id === id)!;
  return { fanOut, claims, alerts, byId, failNextClaims: (n: number) => (failClaims = n) };
}

let n = 0;
const signal = (extra: Partial<TradeSignal> = {}): TradeSignal => ({
  id: `s-${++n}`,
  instrument: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  createdAtMs: 0,
  receivedAtMs: 0,
  source: 'test',
  ...extra,
});

describe('SignalFanOut', () => {
  it('sends a signal without channel to the default channel, and a channel signal to its subscribers only', async () => {
    const { fanOut, byId, claims } = setUp();
    expect(await fanOut.submit(signal())).toEqual({ kind: 'accepted', accounts: 1 });
    expect(byId('a').admitted).toHaveLength(1);
    expect(await fanOut.submit(signal({ channel: 'fx' }))).toEqual({ kind: 'accepted', accounts: 2 });
    expect(claims[1].targets).toEqual({ accepted: ['a', 'b'], rejected: [] });
    expect(byId('c').admitted).toHaveLength(0);
  });

  it('sends to exactly the accounts named, without the list itself, in one claim', async () => {
    const { fanOut, byId, claims } = setUp();
    const s = signal({ accounts: ['c', 'b'] });
    expect(await fanOut.submit(s)).toEqual({ kind: 'accepted', accounts: 2 });
    expect(claims).toEqual([{ id: s.id, targets: { accepted: ['c', 'b'], rejected: [] } }]);
    expect(byId('c').admitted[0]).not.toHaveProperty('accounts');
    expect(byId('a').admitted).toHaveLength(0);
  });

  it('refuses unknown accounts naming them, and a channel nobody listens on, recording nothing', async () => {
    const { fanOut, claims } = setUp();
    expect(await fanOut.submit(signal({ accounts: ['a', 'zed', 'yan'] }))).toEqual({
      kind: 'unknown_accounts',
      ids: ['zed', 'yan'],
    });
    expect(await fanOut.submit(signal({ channel: 'nobody' }))).toEqual({ kind: 'no_target_accounts' });
    expect(claims).toEqual([]);
  });

  it('records a halted account as rejected while the others trade; all halted is `halted`', async () => {
    const { fanOut, byId, claims } = setUp();
    byId('a').halted = true;
    const s = signal({ channel: 'fx' });
    expect(await fanOut.submit(s)).toEqual({ kind: 'accepted', accounts: 1 });
    expect(claims[0].targets).toEqual({ accepted: ['b'], rejected: ['a'], reason: 'halted' });
    expect(byId('a').rejected.map((r) => r.id)).toEqual([s.id]);
    byId('b').halted = true;
    expect(await fanOut.submit(signal({ channel: 'fx' }))).toEqual({ kind: 'halted' });
    expect(claims[1].targets).toEqual({ accepted: [], rejected: ['a', 'b'], reason: 'halted' });
  });

  it('answers a repeated id as duplicate, whatever it targets now, and admits nothing again', async () => {
    const { fanOut, byId } = setUp();
    const s = signal({ channel: 'fx' });
    await fanOut.submit(s);
    expect(await fanOut.submit(s)).toEqual({ kind: 'duplicate' });
    expect(await fanOut.submit({ ...s, channel: 'nobody' })).toEqual({ kind: 'duplicate' });
    expect(await fanOut.submit({ ...s, accounts: ['gone'] })).toEqual({ kind: 'duplicate' });
    expect(byId('a').admitted).toHaveLength(1);
  });

  it('refuses (unclaimed) while the ledger cannot be written, alerts once per outage, and takes the retry', async () => {
    const { fanOut, alerts, failNextClaims, byId } = setUp();
    failNextClaims(2);
    const s = signal();
    expect(await fanOut.submit(s)).toEqual({ kind: 'unavailable' });
    expect(await fanOut.submit(signal())).toEqual({ kind: 'unavailable' });
    expect(alerts.map((a) => a.kind)).toEqual(['state_untrusted']);
    expect(await fanOut.submit(s)).toEqual({ kind: 'accepted', accounts: 1 });
    expect(byId('a').admitted.map((x) => x.id)).toEqual([s.id]);
  });

  it("keeps one account's failed admission to that account", async () => {
    const { fanOut, byId } = setUp();
    byId('a').failAdmit = true;
    expect(await fanOut.submit(signal({ channel: 'fx' }))).toEqual({ kind: 'accepted', accounts: 2 });
    expect(byId('b').admitted).toHaveLength(1);
  });
});
