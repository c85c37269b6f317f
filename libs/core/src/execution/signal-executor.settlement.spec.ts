import type { Position } from '../broker/broker-types';
import { silentLogger } from '../logging/core-logger.port';
import type { TradeSignal } from '../signals/trade-signal';
import { DurableState, ProcessPorts } from '../testing/memory-ports';
import { VirtualBroker } from '../testing/virtual-broker';
import { ManualScheduler } from '../time/scheduler';
import { openRequestId } from './request-ids';
import { SignalExecutor, type OpenGate } from './signal-executor';

/**
 * Order settlement in virtual time (no sleeps): an order whose answer was lost is settled by
 * looking for its position, never sent twice, never declared failed while its position may exist,
 * and a stop leaves it unfinished for the next start, which settles it by its comment.
 */
function gate(): OpenGate & { closed: Position[] } {
  const closed: Position[] = [];
  return {
    closed,
    isHalted: () => false,
    haltCount: () => 0,
    openRefusal: () => null,
    closedPositionWithRequestId: () => undefined,
    noteOpened: () => undefined,
    noteClosed: (position) => void closed.push(position),
  };
}

function setUp() {
  const scheduler = new ManualScheduler();
  const broker = new VirtualBroker(scheduler);
  const durable = new DurableState();
  /** One process: its own ports and its own stop; the broker and the durable state outlive it. */
  const start = () => {
    let stopping = false;
    const ports = new ProcessPorts(durable, scheduler);
    const executor = new SignalExecutor(
      {
        magic: 19019,
        sizing: { mode: 'multiplier', value: 1 },
        maxVolume: 100,
        maxOrdersPerSecond: 50,
        maxAgeMs: 300_000,
        heartbeatStaleAfterMs: 60_000,
        retry: { maxRetries: 2, baseDelayMs: 50, maxDelayMs: 2_000, random: () => 0.5 },
      },
      {
        broker,
        ledger: ports.accountLedger,
        events: ports.eventSink,
        gate: gate(),
        scheduler,
        clock: scheduler,
        logger: silentLogger,
        stopping: () => stopping,
      },
    );
    return { executor, ports, stop: () => (stopping = true) };
  };
  return { scheduler, broker, durable, start };
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
    .filter((e) => e.type === 'trade_executed' || e.type === 'trade_failed' || e.type === 'signal_rejected');

describe('order settlement (virtual time)', () => {
  it('an order that filled but whose answers were all lost is found by its comment: executed once, sent as one order', async () => {
    const { scheduler, broker, start } = setUp();
    const { executor, ports } = start();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: true });
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: false }, 2);
    await drive(scheduler, executor.execute(signal('s-1', scheduler.now()), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes());
    expect(endings(ports, 's-1').map((e) => e.type)).toEqual(['trade_executed']);
    expect(broker.open.size).toBe(1);
    expect(new Set(broker.ordersSent())).toEqual(new Set([openRequestId('s-1')]));
    expect(ports.durable.ledger.get('s-1')?.at(-1)).toMatchObject({ status: 'executed' });
  });

  it('an order whose answers were lost and that never reached the terminal is failed only once positions prove it', async () => {
    const { scheduler, broker, start } = setUp();
    const { executor, ports } = start();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: false }, 3);
    broker.failNext('positions', { kind: 'transient' }, 3);
    await drive(scheduler, executor.execute(signal('s-2', scheduler.now()), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes());
    const [ending] = endings(ports, 's-2');
    expect(ending?.type).toBe('trade_failed');
    expect(ending?.payload).toMatchObject({
      reason: expect.stringContaining('no position carries its request id'),
    });
    expect(broker.open.size).toBe(0);
  });

  it('positions unlistable for long: the loop goes on, and the signal is settled behind it when they come back', async () => {
    const { scheduler, broker, start } = setUp();
    const { executor, ports } = start();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: true }, 3);
    broker.failNext('positions', { kind: 'transient' }, 40);
    const started = scheduler.now();
    await drive(scheduler, executor.execute(signal('s-3', started), { allowed: true }));
    // The tick waited at most resolveWaitMs (30 s: half the heartbeat's 60 s), not the whole outage.
    expect(scheduler.now() - started).toBeLessThanOrEqual(31_000);
    expect(endings(ports, 's-3')).toEqual([]);
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    expect(endings(ports, 's-3').map((e) => e.type)).toEqual(['trade_executed']);
  });

  it('a stop during settlement leaves the signal unfinished, and the next start settles it by its comment without sending it', async () => {
    const { scheduler, broker, durable, start } = setUp();
    const first = start();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: true }, 3);
    broker.failNext('positions', { kind: 'transient' }, 40);
    const at = scheduler.now();
    // The ledger knows the signal (the fan-out claimed it before the loop took it).
    await first.ports.ledger.claim(signal('s-4', at), { accepted: ['default'], rejected: [] }, at);
    await drive(scheduler, first.executor.execute(signal('s-4', at), { allowed: true }));
    first.stop();
    first.executor.stop();
    await drive(scheduler, first.executor.flushOutcomes());
    expect(endings(first.ports, 's-4')).toEqual([]);
    expect(durable.ledger.get('s-4')?.at(-1)?.status).toBe('accepted');

    // The next start: positions list again; the restored signal is found, not sent again.
    broker.clearFaults();
    const ordersBefore = broker.ordersSent().length;
    const next = start();
    await drive(
      scheduler,
      next.executor.execute(signal('s-4', at, { restoredAtMs: scheduler.now() }), { allowed: true }),
    );
    await drive(scheduler, next.executor.flushOutcomes());
    expect(endings(next.ports, 's-4').map((e) => e.type)).toEqual(['trade_executed']);
    expect(broker.ordersSent()).toHaveLength(ordersBefore);
    expect(broker.open.size).toBe(1);
  });
});
