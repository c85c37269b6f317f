import type { OpenRefusal } from '../risk/trading-state';
import { drive, executorProcesses, signalEndings, signalFixture } from '../testing/signal-executor-harness';

/**
 * What admission checked still holds when the order is signed (docs/service.md, lost broker
 * answers): sizing asks the broker for the symbol, and that can take seconds. A halt, the age
 * limit (which bounds when an earlier run's order can still arrive) or a lapse of a shared
 * account's lease during it must keep the order from being sent.
 */

/** Multiplier sizing reads the symbol once (cached after): its first read answers only after `ms`. */
const SLOW_SYMBOL_MS = 2_000;

describe('SignalExecutor: checks made again before signing (virtual time)', () => {
  it('a halt latched while the order is being sized: nothing is sent, the signal is rejected `halted`', async () => {
    let halted = false;
    const { scheduler, broker, start } = executorProcesses({ halted: () => halted });
    const { ports, executor } = start();
    broker.failNext('symbol', { kind: 'delay', ms: SLOW_SYMBOL_MS });
    scheduler.after(1_000, () => (halted = true));
    await drive(
      scheduler,
      executor.execute(signalFixture('halt-while-sizing', scheduler.now()), { allowed: true }),
    );
    await drive(scheduler, executor.flushOutcomes());
    expect(broker.ordersSent()).toEqual([]);
    expect(signalEndings(ports, 'halt-while-sizing').map((e) => e.type)).toEqual(['signal_rejected']);
  });

  it('the age limit passed while the order is being sized: not signed past it (stale_in_queue)', async () => {
    const { scheduler, broker, start } = executorProcesses();
    const { ports, executor } = start();
    broker.failNext('symbol', { kind: 'delay', ms: SLOW_SYMBOL_MS });
    // maxAgeMs is 300 s in the harness: admitted 1 s before the limit, sized 2 s later.
    const received = scheduler.now() - 299_000;
    await drive(scheduler, executor.execute(signalFixture('aged-while-sizing', received), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes());
    expect(broker.ordersSent()).toEqual([]);
    expect(
      signalEndings(ports, 'aged-while-sizing').map((e) =>
        'reason' in e.payload ? e.payload.reason : e.type,
      ),
    ).toEqual(['stale_in_queue']);
  });

  it('a lease that lapses while the order is being sized: nothing is sent while lapsed; sent once it holds again', async () => {
    let lapsed = false;
    let sentWhileLapsed = 0;
    const refusal = (): OpenRefusal | null => (lapsed ? 'stopping' : null);
    const { scheduler, broker, start } = executorProcesses({ refusal, shuttingDown: () => false });
    const process = start();
    const lapse = (on: boolean) => {
      lapsed = on;
      process.flags.stopping = on;
    };
    const openPosition = broker.openPosition.bind(broker);
    broker.openPosition = (request) => {
      if (lapsed) sentWhileLapsed++;
      return openPosition(request);
    };
    broker.failNext('symbol', { kind: 'delay', ms: SLOW_SYMBOL_MS });
    scheduler.after(1_000, () => lapse(true));
    scheduler.after(4_000, () => lapse(false));
    await drive(
      scheduler,
      process.executor.execute(signalFixture('lapse-while-sizing', scheduler.now()), { allowed: true }),
    );
    await drive(scheduler, process.executor.flushOutcomes());
    expect(sentWhileLapsed).toBe(0);
    expect(broker.open.size).toBe(1);
    expect(signalEndings(process.ports, 'lapse-while-sizing').map((e) => e.type)).toEqual(['trade_executed']);
  });
});
