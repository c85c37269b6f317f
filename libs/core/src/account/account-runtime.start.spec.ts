/**
 * AccountRuntime's two-part start (load from the state store, then begin on the broker) in
 * virtual time: what the fan-out admits between the two must not change what the account does.
 */
import { silentLogger } from '../logging/core-logger.port';
import type { TradeSignal } from '../signals/trade-signal';
import type { UnfinishedSignal } from '../state/signal-ledger.port';
import { DurableState, ProcessPorts } from '../testing/memory-ports';
import { VirtualBroker } from '../testing/virtual-broker';
import { ManualScheduler } from '../time/scheduler';
import { createAccountRuntime, type AccountSettings } from './account-runtime';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

const SETTINGS: AccountSettings = {
  accountId: 'alice',
  channels: ['default'],
  loopId: 'test-loop',
  loopTickMs: 250,
  heartbeat: { intervalMs: 5000, staleAfterMs: 30_000 },
  risk: {
    capPercent: 20,
    baselineMode: 'start',
    dailyResetTimezone: 'UTC',
    warnRatio: 0.8,
    confirmReads: 1,
    equityCheckIntervalMs: 1000,
  },
  mt5: { magic: 19019, maxRetries: 2 },
  signals: { approvalMode: 'auto', maxOrdersPerSecond: 100, maxAgeMs: 600_000 },
  sizing: { mode: 'multiplier', value: 1 },
  maxVolume: 100,
  where: '/state/alice',
};

function signal(id: string, over: Partial<TradeSignal> = {}): TradeSignal {
  return {
    id,
    instrument: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    createdAtMs: T0,
    receivedAtMs: T0,
    source: 'inbox',
    ...over,
  };
}

function setup(settings: AccountSettings = SETTINGS) {
  const scheduler = new ManualScheduler(T0);
  const durable = new DurableState();
  const ports = new ProcessPorts(durable, scheduler);
  const broker = new VirtualBroker(scheduler);
  const runtime = createAccountRuntime(settings, {
    broker,
    ledger: ports.accountLedger,
    riskState: ports.riskState,
    audit: ports.audit,
    events: ports.eventSink,
    alerts: ports.alertSink,
    scheduler,
    clock: scheduler,
    logger: silentLogger,
    stopping: () => false,
  });
  return { scheduler, durable, ports, broker, runtime };
}

describe('AccountRuntime start: signals admitted between load and begin', () => {
  it('a close admitted while the first equity read is in flight does not overtake the restored buy it should close', async () => {
    const { scheduler, broker, runtime, ports } = setup();
    // The previous run accepted (and approved) a buy and died before sending it.
    const restoredBuy = signal('buy-1', { createdAtMs: T0 - 2000, receivedAtMs: T0 - 2000 });
    const unfinished: UnfinishedSignal[] = [{ signal: restoredBuy, status: 'approved' }];
    await runtime.load({
      riskState: { kind: 'absent' },
      problems: [],
      ledgerTrusted: true,
      where: '/state/alice',
      unfinished,
    });
    expect(runtime.ready).toBe(true); // the fan-out takes signals from here on
    // The broker is slow to give the first equity reading (a busy terminal at start).
    broker.failNext('account', { kind: 'delay', ms: 2000 });
    broker.failNext('positions', { kind: 'delay', ms: 2000 });
    const begun = runtime.begin();
    await scheduler.advanceAsync(10);
    // Meanwhile the platform sends the close of that buy: the fan-out admits it (202).
    await runtime.admit(
      signal('close-1', { side: 'close', volume: 0, createdAtMs: T0 + 10, receivedAtMs: T0 + 10 }),
    );
    await scheduler.advanceAsync(2500);
    await begun;
    await scheduler.advanceAsync(5000);
    // Both signals ended...
    expect(ports.eventsOf('trade_executed').map((e) => e.payload.signal_id)).toContain('buy-1');
    expect(ports.eventsOf('positions_closed').map((e) => e.payload.signal_id)).toContain('close-1');
    // ...in their order: the buy first, then the close that closes it; nothing stays open.
    expect([...broker.open.values()].filter((p) => p.magic === SETTINGS.mt5.magic)).toEqual([]);
  });

  it('a signal queued before a scope:all halt is rejected, not executed, after the bulk resume (broker slow at start)', async () => {
    const { scheduler, broker, runtime, ports } = setup();
    await runtime.load({
      riskState: { kind: 'absent' },
      problems: [],
      ledgerTrusted: true,
      where: '/state/alice',
      unfinished: [],
    });
    // The terminal answers the first equity read only after 20 s; TradingAccounts.start stops
    // waiting after 5 s and the inbox takes signals for this account meanwhile.
    broker.failNext('account', { kind: 'delay', ms: 20_000 });
    broker.failNext('positions', { kind: 'delay', ms: 20_000 });
    const begun = runtime.begin();
    await scheduler.advanceAsync(6000);
    await runtime.admit(signal('before-halt'));
    // The platform kill switch, then (a few seconds later) its bulk resume.
    const halted = runtime.guard.manualHalt('news spike', 'ops', 'all');
    await scheduler.advanceAsync(100);
    await halted;
    expect(runtime.isHalted()).toBe(true);
    const resumed = runtime.guard.resume('ops', 'spike over');
    await scheduler.advanceAsync(100);
    expect((await resumed).ok).toBe(true);
    await scheduler.advanceAsync(20_000);
    await begun;
    await scheduler.advanceAsync(2000);
    // docs/service.openapi.yaml: "nothing accepted before a halt is executed after it".
    expect(ports.eventsOf('trade_executed').map((e) => e.payload.signal_id)).not.toContain('before-halt');
    expect(broker.ordersSent()).toEqual([]);
    expect(ports.eventsOf('signal_rejected').map((e) => e.payload)).toEqual([
      expect.objectContaining({ signal_id: 'before-halt', reason: 'halted' }),
    ]);
  });
});
