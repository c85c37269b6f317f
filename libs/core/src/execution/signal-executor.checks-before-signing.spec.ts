import { fail, ok } from '../broker/broker-error';
import { Retcode } from '../broker/retcodes';
import type { OpenRefusal } from '../risk/trading-state';
import {
  drive,
  executorProcesses,
  fillOrderOf,
  signalEndings,
  signalFixture,
} from '../testing/signal-executor-harness';

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

/**
 * A bridge does not store a transient retcode (REQUOTE): the request id may be tried again, so an
 * earlier attempt whose answer was lost, still held by a busy bridge, can execute after the last
 * REQUOTE. Running out of retries on REQUOTEs is then no proof that nothing filled.
 */
describe('SignalExecutor: REQUOTEs after an attempt that may still execute (virtual time)', () => {
  /** Open attempts answer as scripted (`lost`: no answer, the request held; `requote`), then as the broker does. */
  function scriptedOpens(script: ('lost' | 'requote')[]) {
    const processes = executorProcesses();
    const { broker, scheduler } = processes;
    const openPosition = broker.openPosition.bind(broker);
    broker.openPosition = async (request) => {
      const next = script.shift();
      if (next === undefined) return openPosition(request);
      await scheduler.sleep(5);
      if (next === 'lost') return fail('unknown_outcome', 'timeout', 'no answer (held by a busy bridge)');
      return ok({
        request_id: request.request_id,
        retcode: Retcode.REQUOTE,
        order: 0,
        deal: 0,
        position: 0,
        volume: 0,
        price: 0,
        comment: 'Requote',
      });
    };
    return processes;
  }

  it('a lost answer, then REQUOTEs until the retries run out: not failed while the held attempt may still fill', async () => {
    const { scheduler, broker, start } = scriptedOpens(['lost', 'requote', 'requote']);
    const { ports, executor } = start();
    // The first attempt, held by the bridge, reaches the terminal 10 s later and fills.
    scheduler.after(10_000, () => void fillOrderOf(broker, 'held-then-requoted'));
    await drive(
      scheduler,
      executor.execute(signalFixture('held-then-requoted', scheduler.now()), { allowed: true }),
    );
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    await scheduler.advanceAsync(60_000);
    expect(broker.open.size).toBe(1);
    expect(signalEndings(ports, 'held-then-requoted').map((e) => e.type)).toEqual(['trade_executed']);
  });

  it('restored while the earlier order may still arrive, and REQUOTEd here until the retries run out: not failed', async () => {
    const { scheduler, broker, start } = scriptedOpens(['requote', 'requote', 'requote']);
    const { ports, executor } = start();
    const at = scheduler.now();
    // The earlier owner's order is held by the bridge; it fills 10 s after this owner took the signal up.
    scheduler.after(10_000, () => void fillOrderOf(broker, 'r-requoted'));
    await drive(
      scheduler,
      executor.execute(signalFixture('r-requoted', at, { restoredAtMs: at }), { allowed: true }),
    );
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    await scheduler.advanceAsync(60_000);
    expect(broker.open.size).toBe(1);
    expect(signalEndings(ports, 'r-requoted').map((e) => e.type)).toEqual(['trade_executed']);
  });

  it('REQUOTEs only (every answer read): failed at once, nothing to wait for', async () => {
    const { scheduler, broker, start } = scriptedOpens(['requote', 'requote', 'requote']);
    const { ports, executor } = start();
    await drive(scheduler, executor.execute(signalFixture('requoted', scheduler.now()), { allowed: true }));
    expect(broker.open.size).toBe(0);
    expect(
      signalEndings(ports, 'requoted').map((e) => ('reason' in e.payload ? e.payload.reason : e.type)),
    ).toEqual(['REQUOTE after 3 attempts']);
  });
});
