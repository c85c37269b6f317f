import type { BrokerResult } from '../broker/broker-error';
import type { Position } from '../broker/broker-types';
import { silentLogger } from '../logging/core-logger.port';
import type { OpenRefusal } from '../risk/trading-state';
import type { TradeSignal } from '../signals/trade-signal';
import { DurableState, ProcessPorts } from '../testing/memory-ports';
import { VirtualBroker } from '../testing/virtual-broker';
import { ManualScheduler } from '../time/scheduler';
import type { Sizing } from './order-sizing';
import { openRequestId } from './request-ids';
import { SignalExecutor, type BatchGate, type OpenGate } from './signal-executor';

/**
 * A signal is never recorded failed (or rejected) while its order may have filled, and always
 * ends on a process that goes on trading the account (docs/service.md, lost broker answers):
 * restored signals whose earlier order may exist, and a shared account's lease that lapses for
 * a moment (found by a second read of the settlement).
 */
const MAGIC = 19019;

/** A broker whose positions call can be made to report a lease lapse while it is in flight. */
class LapsingBroker extends VirtualBroker {
  onPositions: () => void = () => undefined;
  override positions(): Promise<BrokerResult<Position[]>> {
    this.onPositions();
    return super.positions();
  }
}

function setUp(
  over: {
    refusal?: () => OpenRefusal | null;
    halted?: () => boolean;
    sizing?: Sizing;
    maxOrdersPerSecond?: number;
    heartbeatStaleAfterMs?: number;
  } = {},
) {
  const scheduler = new ManualScheduler();
  const broker = new LapsingBroker(scheduler);
  const ports = new ProcessPorts(new DurableState(), scheduler);
  const flags = { stopping: false };
  const closed: Position[] = [];
  const gate: OpenGate = {
    isHalted: over.halted ?? (() => false),
    haltCount: () => 0,
    openRefusal: over.refusal ?? (() => null),
    closedPositionWithRequestId: (id) => closed.find((p) => p.comment === id.slice(0, 26)),
    noteOpened: () => undefined,
    noteClosed: (position) => void closed.push(position),
  };
  const executor = new SignalExecutor(
    {
      magic: MAGIC,
      sizing: over.sizing ?? { mode: 'multiplier', value: 1 },
      maxVolume: 100,
      maxOrdersPerSecond: over.maxOrdersPerSecond ?? 50,
      maxAgeMs: 300_000,
      heartbeatStaleAfterMs: over.heartbeatStaleAfterMs ?? 60_000,
      retry: { maxRetries: 2, baseDelayMs: 50, maxDelayMs: 2_000, random: () => 0.5 },
    },
    {
      broker,
      ledger: ports.accountLedger,
      events: ports.eventSink,
      gate,
      scheduler,
      clock: scheduler,
      logger: silentLogger,
      stopping: () => flags.stopping,
      // As for a shared account: a lapsed lease stops the orders, not the settling.
      shuttingDown: () => false,
    },
  );
  return { scheduler, broker, ports, executor, flags };
}

const signal = (id: string, at: number, extra: Partial<TradeSignal> = {}): TradeSignal => ({
  id,
  instrument: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  createdAtMs: at,
  receivedAtMs: at,
  source: 'test',
  ...extra,
});

async function drive(scheduler: ManualScheduler, work: Promise<unknown>, limitMs = 120_000): Promise<void> {
  let done = false;
  void work.finally(() => (done = true));
  for (let t = 0; t < limitMs && !done; t += 10) await scheduler.advanceAsync(10);
  await work;
}

const endings = (ports: ProcessPorts, id: string) =>
  ports.events
    .filter((e) => 'signal_id' in e.payload && e.payload.signal_id === id)
    .filter((e) => e.type === 'trade_executed' || e.type === 'trade_failed' || e.type === 'signal_rejected')
    .map((e) => ({ type: e.type, reason: (e.payload as { reason?: unknown }).reason }));

/** The earlier owner's order of this signal filled: its position is on the account. */
const earlierOrderFilled = (broker: VirtualBroker, id: string) =>
  broker.addPosition({ symbol: 'EURUSD', magic: MAGIC, comment: openRequestId(id).slice(0, 26) });

describe('SignalExecutor: restored signals and lease lapses (virtual time)', () => {
  it('a lease that lapses for a moment (stopping() true, then false) while the outcome is unknown: the signal still ends on this process, which goes on trading', async () => {
    const { scheduler, broker, ports, executor, flags } = setUp();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: true }, 3);
    broker.failNext('positions', { kind: 'transient' }, 1);
    // The first listing is in flight when the lease's local validity runs out; a renewal that was
    // slow comes back a moment later and the lease is valid again (OwnershipManager.renew keeps
    // a lease not yet dropped): no onLost, no stop, the account's runtime goes on.
    let lapsed = false;
    broker.onPositions = () => {
      if (lapsed) return;
      lapsed = true;
      flags.stopping = true;
      scheduler.after(500, () => (flags.stopping = false));
    };
    await drive(scheduler, executor.execute(signal('lapse-1', scheduler.now()), { allowed: true }));
    // The process goes on: the next signal executes.
    await drive(scheduler, executor.execute(signal('lapse-2', scheduler.now()), { allowed: true }));
    await scheduler.advanceAsync(120_000);
    await drive(scheduler, executor.flushOutcomes());
    expect(endings(ports, 'lapse-2').map((e) => e.type)).toEqual(['trade_executed']);
    expect(broker.open.size).toBe(2);
    // The first signal's order filled: it ends here, though the lease lapsed while it was unknown.
    expect(endings(ports, 'lapse-1').map((e) => e.type)).toEqual(['trade_executed']);
  });

  const restored = (id: string, at: number) => signal(id, at, { restoredAtMs: at });

  it.each<[string, BatchGate, { refusal?: () => OpenRefusal | null }]>([
    ['the batch read no equity', { allowed: false, reason: 'equity_unavailable' }, {}],
    ['the guard refuses (drawdown_cap)', { allowed: true }, { refusal: () => 'drawdown_cap' }],
    ['the guard refuses (stopping)', { allowed: true }, { refusal: () => 'stopping' }],
  ])(
    'restored, positions not listable, and %s: not failed while the earlier order may exist',
    async (_what, batch, over) => {
      const { scheduler, broker, ports, executor } = setUp(over);
      earlierOrderFilled(broker, 'r-refused');
      broker.failNext('positions', { kind: 'transient', code: 'circuit_open' }, 4);
      await drive(scheduler, executor.execute(restored('r-refused', scheduler.now()), batch));
      await drive(scheduler, executor.flushOutcomes(), 600_000);
      expect(endings(ports, 'r-refused').map((e) => e.type)).not.toContain('trade_failed');
    },
  );

  it('restored, positions not listable, and rate limited: not failed while the earlier order may exist', async () => {
    const { scheduler, broker, ports, executor } = setUp({ maxOrdersPerSecond: 1 });
    earlierOrderFilled(broker, 'r-rate');
    const at = scheduler.now();
    // Another signal takes this second's order; the restored one's listing fails meanwhile.
    broker.failNext('positions', { kind: 'transient', code: 'circuit_open' }, 4);
    const first = executor.execute(restored('r-rate', at), { allowed: true });
    const other = executor.execute(signal('fresh', at), { allowed: true });
    await drive(scheduler, Promise.all([first, other]));
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    expect(endings(ports, 'r-rate')).not.toContainEqual(expect.objectContaining({ type: 'trade_failed' }));
  });

  it('restored, positions not listable, halted: not rejected while the earlier order filled', async () => {
    const { scheduler, broker, ports, executor } = setUp({ halted: () => true });
    earlierOrderFilled(broker, 'r-halted');
    broker.failNext('positions', { kind: 'transient', code: 'circuit_open' }, 4);
    await drive(scheduler, executor.execute(restored('r-halted', scheduler.now()), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    expect(endings(ports, 'r-halted').map((e) => e.type)).not.toContain('signal_rejected');
  });

  it('restored, positions not listable, risk sizing without the symbol: not failed while the earlier order may exist', async () => {
    const { scheduler, broker, ports, executor } = setUp({ sizing: { mode: 'risk_percent', value: 1 } });
    earlierOrderFilled(broker, 'r-size');
    broker.failNext('positions', { kind: 'transient', code: 'circuit_open' }, 4);
    broker.failNext('symbol', { kind: 'transient', code: 'circuit_open' });
    await drive(
      scheduler,
      executor.execute(signal('r-size', scheduler.now(), { restoredAtMs: scheduler.now(), sl: 1.08 }), {
        allowed: true,
        equity: 10_000,
      }),
    );
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    expect(endings(ports, 'r-size').map((e) => e.type)).not.toContain('trade_failed');
  });

  it('restored right after the earlier owner stopped with its order held by a busy bridge: an empty listing at once is no proof', async () => {
    const { scheduler, broker, ports, executor } = setUp();
    const at = scheduler.now();
    // The earlier owner's order (same request id) is still queued in the bridge; it fills 2 s later.
    scheduler.after(2_000, () => void earlierOrderFilled(broker, 'r-held'));
    // This owner's own send gets no answer from the bridge at all (its circuit is open).
    broker.failNext('open', { kind: 'transient', code: 'circuit_open' }, 3);
    await drive(scheduler, executor.execute(restored('r-held', at), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    await scheduler.advanceAsync(5_000);
    expect(broker.open.size).toBe(1);
    expect(endings(ports, 'r-held').map((e) => e.type)).toEqual(['trade_executed']);
  });
});
