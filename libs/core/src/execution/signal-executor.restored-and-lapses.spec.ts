import { ok, type BrokerResult } from '../broker/broker-error';
import type { Position } from '../broker/broker-types';
import type { OpenRefusal } from '../risk/trading-state';
import {
  drive,
  executorProcesses,
  fillOrderOf,
  signalEndings,
  signalFixture,
  type SignalExecutorOptions,
} from '../testing/signal-executor-harness';
import type { ProcessPorts } from '../testing/memory-ports';
import { VirtualBroker } from '../testing/virtual-broker';
import type { ManualScheduler } from '../time/scheduler';
import type { BatchGate } from './signal-executor';

/**
 * A signal is never recorded failed (or rejected) while its order may have filled, and always
 * ends on a process that goes on trading the account (docs/service.md, lost broker answers):
 * restored signals whose earlier order may exist, and a shared account's lease that lapses for
 * a moment (found by a second read of the settlement).
 */

/** A broker whose positions call can be made to report a lease lapse while it is in flight. */
class LapsingBroker extends VirtualBroker {
  onPositions: () => void = () => undefined;
  override positions(): Promise<BrokerResult<Position[]>> {
    this.onPositions();
    return super.positions();
  }
}

/** A bridge that reads the positions when asked but answers `slowMs` later, from `slowFrom` on. */
class SlowListingBroker extends VirtualBroker {
  slowFrom = Infinity;
  slowMs = 0;
  constructor(private readonly clock: ManualScheduler) {
    super(clock);
  }
  override async positions(): Promise<BrokerResult<Position[]>> {
    if (this.clock.now() < this.slowFrom) return super.positions();
    const snapshot = [...this.open.values()];
    await this.clock.sleep(this.slowMs);
    return ok(snapshot);
  }
}

function setUp(over: SignalExecutorOptions = {}) {
  const { scheduler, broker, start } = executorProcesses({
    ...over,
    makeBroker: (on) => new LapsingBroker(on),
    // As for a shared account: a lapsed lease stops the orders, not the settling.
    shuttingDown: () => false,
  });
  const { ports, executor, flags } = start();
  return { scheduler, broker, ports, executor, flags };
}

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
    await drive(scheduler, executor.execute(signalFixture('lapse-1', scheduler.now()), { allowed: true }));
    // The process goes on: the next signal executes.
    await drive(scheduler, executor.execute(signalFixture('lapse-2', scheduler.now()), { allowed: true }));
    await scheduler.advanceAsync(120_000);
    await drive(scheduler, executor.flushOutcomes());
    expect(signalEndings(ports, 'lapse-2').map((e) => e.type)).toEqual(['trade_executed']);
    expect(broker.open.size).toBe(2);
    // The first signal's order filled: it ends here, though the lease lapsed while it was unknown.
    expect(signalEndings(ports, 'lapse-1').map((e) => e.type)).toEqual(['trade_executed']);
  });

  const reasons = (ports: ProcessPorts, id: string) =>
    signalEndings(ports, id).map((e) => ('reason' in e.payload ? e.payload.reason : e.type));
  const restored = (id: string, at: number) => signalFixture(id, at, { restoredAtMs: at });

  it.each<[string, BatchGate, { refusal?: () => OpenRefusal | null }]>([
    ['the batch read no equity', { allowed: false, reason: 'equity_unavailable' }, {}],
    ['the guard refuses (drawdown_cap)', { allowed: true }, { refusal: () => 'drawdown_cap' }],
  ])(
    'restored, positions not listable, and %s: not failed while the earlier order may exist',
    async (_what, batch, over) => {
      const { scheduler, broker, ports, executor } = setUp(over);
      fillOrderOf(broker, 'r-refused');
      broker.failNext('positions', { kind: 'transient', code: 'circuit_open' }, 4);
      await drive(scheduler, executor.execute(restored('r-refused', scheduler.now()), batch));
      await drive(scheduler, executor.flushOutcomes(), 600_000);
      expect(signalEndings(ports, 'r-refused').map((e) => e.type)).not.toContain('trade_failed');
    },
  );

  it('a listing read before the proof point but answered after it proves nothing (it counts as of when it was asked)', async () => {
    const { scheduler, broker, start } = executorProcesses({
      makeBroker: (clock) => new SlowListingBroker(clock),
    });
    const { ports, executor } = start();
    const t0 = scheduler.now();
    // Every attempt's answer is lost; the bridge still holds one, which fills at t0 + 29 s.
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: false }, 3);
    scheduler.after(29_000, () => void fillOrderOf(broker, 'slow-list'));
    // From t0 + 27 s each listing reads at once and answers 10 s later: one reads before the fill
    // and answers past t0 + 35 s.
    broker.slowFrom = t0 + 27_000;
    broker.slowMs = 10_000;
    await drive(scheduler, executor.execute(signalFixture('slow-list', t0), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    expect(signalEndings(ports, 'slow-list').map((e) => e.type)).toEqual(['trade_executed']);
  });

  it('a signal that reaches admission while the lease lapsed for a moment waits for it and is sent, not failed `stopping`', async () => {
    let lapsed = true;
    const { scheduler, broker, ports, executor } = setUp({
      refusal: () => (lapsed ? 'stopping' : null),
    });
    scheduler.after(1_500, () => (lapsed = false));
    await drive(
      scheduler,
      executor.execute(signalFixture('lapsed-at-admission', scheduler.now()), { allowed: true }),
    );
    await drive(scheduler, executor.flushOutcomes());
    expect(broker.open.size).toBe(1);
    expect(signalEndings(ports, 'lapsed-at-admission').map((e) => e.type)).toEqual(['trade_executed']);
  });

  it('a signal older than the age limit when its turn comes is not sent (stale_in_queue); nor is a retry past the limit', async () => {
    const { scheduler, broker, ports, executor } = setUp();
    const received = scheduler.now() - 300_001;
    await drive(scheduler, executor.execute(signalFixture('queued-too-long', received), { allowed: true }));
    expect(broker.open.size).toBe(0);
    expect(reasons(ports, 'queued-too-long')).toEqual(['stale_in_queue']);

    // A 503 at 299.99 s of age: the retry would be signed past the limit, so it is not sent.
    broker.failNext('open', { kind: 'transient', code: 'http_503' }, 1);
    const almost = scheduler.now() - 299_990;
    await drive(
      scheduler,
      executor.execute(signalFixture('retried-at-the-limit', almost), { allowed: true }),
    );
    await drive(scheduler, executor.flushOutcomes());
    expect(broker.open.size).toBe(0);
    expect(reasons(ports, 'retried-at-the-limit')).toEqual([expect.stringContaining('stale_in_queue')]);
  });

  it('a lease that lapses between two attempts of an order holds the retry (nothing sent meanwhile), which goes on once it is back', async () => {
    const { scheduler, broker, ports, executor, flags } = setUp();
    broker.failNext('open', { kind: 'transient', code: 'http_429' }, 1);
    // The first attempt is answered 429; the lease lapses before the retry is due (backoff).
    let sentWhileLapsed = 0;
    let attempts = 0;
    const open = broker.openPosition.bind(broker);
    broker.openPosition = (request) => {
      if (flags.stopping) sentWhileLapsed += 1;
      if (++attempts === 1) {
        scheduler.after(1, () => (flags.stopping = true));
        scheduler.after(2_000, () => (flags.stopping = false));
      }
      return open(request);
    };
    await drive(
      scheduler,
      executor.execute(signalFixture('retry-across-a-lapse', scheduler.now()), { allowed: true }),
    );
    await drive(scheduler, executor.flushOutcomes());
    expect(sentWhileLapsed).toBe(0);
    expect(attempts).toBe(2);
    expect(broker.open.size).toBe(1);
    expect(signalEndings(ports, 'retry-across-a-lapse').map((e) => e.type)).toEqual(['trade_executed']);
  });

  it('the account moves away while a signal waits out a lapse: nothing sent, nothing recorded (the next owner takes it)', async () => {
    const { scheduler, broker, durable, start } = executorProcesses({
      refusal: () => 'stopping',
      shuttingDown: () => false,
    });
    const process = start();
    scheduler.after(3_000, () => process.stop());
    await drive(
      scheduler,
      process.executor.execute(signalFixture('lost-while-lapsed', scheduler.now()), { allowed: true }),
    );
    await drive(scheduler, process.executor.flushOutcomes());
    expect(broker.open.size).toBe(0);
    expect(durable.ledger.get('lost-while-lapsed')).toBeUndefined();
    expect(signalEndings(process.ports, 'lost-while-lapsed')).toEqual([]);
  });

  it('restored, positions not listable, and rate limited: not failed while the earlier order may exist', async () => {
    const { scheduler, broker, ports, executor } = setUp({ maxOrdersPerSecond: 1 });
    fillOrderOf(broker, 'r-rate');
    const at = scheduler.now();
    // Another signal takes this second's order; the restored one's listing fails meanwhile.
    broker.failNext('positions', { kind: 'transient', code: 'circuit_open' }, 4);
    const first = executor.execute(restored('r-rate', at), { allowed: true });
    const other = executor.execute(signalFixture('fresh', at), { allowed: true });
    await drive(scheduler, Promise.all([first, other]));
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    expect(signalEndings(ports, 'r-rate')).not.toContainEqual(
      expect.objectContaining({ type: 'trade_failed' }),
    );
  });

  it('restored, positions not listable, halted: not rejected while the earlier order filled', async () => {
    const { scheduler, broker, ports, executor } = setUp({ halted: () => true });
    fillOrderOf(broker, 'r-halted');
    broker.failNext('positions', { kind: 'transient', code: 'circuit_open' }, 4);
    await drive(scheduler, executor.execute(restored('r-halted', scheduler.now()), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    expect(signalEndings(ports, 'r-halted').map((e) => e.type)).not.toContain('signal_rejected');
  });

  it('restored, positions not listable, risk sizing without the symbol: not failed while the earlier order may exist', async () => {
    const { scheduler, broker, ports, executor } = setUp({ sizing: { mode: 'risk_percent', value: 1 } });
    fillOrderOf(broker, 'r-size');
    broker.failNext('positions', { kind: 'transient', code: 'circuit_open' }, 4);
    broker.failNext('symbol', { kind: 'transient', code: 'circuit_open' });
    await drive(
      scheduler,
      executor.execute(
        signalFixture('r-size', scheduler.now(), { restoredAtMs: scheduler.now(), sl: 1.08 }),
        {
          allowed: true,
          equity: 10_000,
        },
      ),
    );
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    expect(signalEndings(ports, 'r-size').map((e) => e.type)).not.toContain('trade_failed');
  });

  it('restored right after the earlier owner stopped with its order held by a busy bridge: an empty listing at once is no proof', async () => {
    const { scheduler, broker, ports, executor } = setUp();
    const at = scheduler.now();
    // The earlier owner's order (same request id) is still queued in the bridge; it fills 2 s later.
    scheduler.after(2_000, () => void fillOrderOf(broker, 'r-held'));
    // This owner's own send gets no answer from the bridge at all (its circuit is open).
    broker.failNext('open', { kind: 'transient', code: 'circuit_open' }, 3);
    await drive(scheduler, executor.execute(restored('r-held', at), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    await scheduler.advanceAsync(5_000);
    expect(broker.open.size).toBe(1);
    expect(signalEndings(ports, 'r-held').map((e) => e.type)).toEqual(['trade_executed']);
  });

  it('an outcome whose ledger write is refused for a moment (a lease lapse) is written once it can be, and published once', async () => {
    const { scheduler, durable, start } = executorProcesses({ shuttingDown: () => false });
    const { ports, executor } = start();
    durable.failNextLedgerUpdates = 3;
    await drive(scheduler, executor.execute(signalFixture('w-1', scheduler.now()), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes(), 60_000);
    expect(durable.ledger.get('w-1')?.map((record) => record.status)).toEqual(['executed']);
    expect(signalEndings(ports, 'w-1').map((e) => e.type)).toEqual(['trade_executed']);
  });

  it('an outcome write still refused when the account stops here is left to the next owner, not retried for ever', async () => {
    const { scheduler, durable, start } = executorProcesses({ shuttingDown: () => false });
    const process = start();
    durable.failNextLedgerUpdates = 1_000;
    await drive(
      scheduler,
      process.executor.execute(signalFixture('w-2', scheduler.now()), { allowed: true }),
    );
    scheduler.after(2_000, () => process.stop());
    await drive(scheduler, process.executor.flushOutcomes(), 60_000);
    expect(durable.ledger.get('w-2')).toBeUndefined();
    expect(signalEndings(process.ports, 'w-2')).toEqual([]);
  });
});
