import {
  drive,
  executorProcesses,
  fillOrderOf,
  signalEndings,
  signalFixture,
} from '../testing/signal-executor-harness';
import { openRequestId } from './request-ids';

/**
 * The executor's side of "never failed while an order may exist", in virtual time: an order the
 * bridge fills a while after its answer was lost, a stop before absence is proven, a restored
 * signal whose sending got no answer at all, and a loop whose wait is shorter than the proof.
 */
describe('settlement: absence proven only after the proof time (virtual time)', () => {
  it('an order the busy bridge fills 3 s after its answers were lost is executed, not failed, within the loop', async () => {
    const { scheduler, broker, start } = executorProcesses();
    const { executor, ports } = start();
    const at = scheduler.now();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: false }, 3);
    scheduler.after(3_000, () => void fillOrderOf(broker, 'late-1'));
    await drive(scheduler, executor.execute(signalFixture('late-1', at), { allowed: true }));
    // Settled in the loop: it waited for the proof, not for the 30 s bound.
    expect(scheduler.now() - at).toBeLessThan(10_000);
    await drive(scheduler, executor.flushOutcomes());
    expect(signalEndings(ports, 'late-1').map((e) => e.type)).toEqual(['trade_executed']);
    expect(broker.open.size).toBe(1);
    expect(new Set(broker.ordersSent())).toEqual(new Set([openRequestId('late-1')]));
  });

  it('a stop before absence is proven leaves it unfinished; the next owner finds the late fill without sending', async () => {
    const { scheduler, broker, durable, start } = executorProcesses();
    const first = start();
    const at = scheduler.now();
    await first.ports.ledger.claim(signalFixture('late-2', at), { accepted: ['default'], rejected: [] }, at);
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: false }, 3);
    scheduler.after(3_000, () => void fillOrderOf(broker, 'late-2'));
    scheduler.after(1_000, () => first.stop());
    await drive(scheduler, first.executor.execute(signalFixture('late-2', at), { allowed: true }));
    await drive(scheduler, first.executor.flushOutcomes());
    expect(scheduler.now() - at).toBeLessThan(3_000);
    expect(signalEndings(first.ports, 'late-2')).toEqual([]);
    expect(durable.ledger.get('late-2')?.at(-1)?.status).toBe('accepted');

    await scheduler.advanceAsync(3_000);
    const sent = broker.ordersSent().length;
    const next = start();
    await drive(
      scheduler,
      next.executor.execute(signalFixture('late-2', at, { restoredAtMs: scheduler.now() }), {
        allowed: true,
      }),
    );
    await drive(scheduler, next.executor.flushOutcomes());
    expect(signalEndings(next.ports, 'late-2').map((e) => e.type)).toEqual(['trade_executed']);
    expect(broker.ordersSent()).toHaveLength(sent);
    expect(broker.open.size).toBe(1);
  });

  it('restored, positions not listable, its sending never reaches the bridge: found by listing, executed once, no execution time', async () => {
    const { scheduler, broker, start } = executorProcesses();
    const { executor, ports } = start();
    const at = scheduler.now();
    fillOrderOf(broker, 'r-1'); // the earlier owner's order filled
    // 4 failed listings of the restored phase (1 + 3 retries), then 2 more after the sending.
    broker.failNext('positions', { kind: 'transient', code: 'circuit_open' }, 6);
    broker.failNext('open', { kind: 'transient', code: 'circuit_open' }, 3);
    await drive(
      scheduler,
      executor.execute(signalFixture('r-1', at, { restoredAtMs: at }), { allowed: true }),
    );
    await drive(scheduler, executor.flushOutcomes());
    const ending = signalEndings(ports, 'r-1');
    expect(ending.map((e) => e.type)).toEqual(['trade_executed']);
    // Not this owner's order: no execution time is claimed for it.
    expect(ending[0]?.payload).toMatchObject({ execution_time_ms: 0 });
    expect(broker.open.size).toBe(1);
  });

  it('a loop wait shorter than the proof: the loop goes on, and the signal fails once behind it, not before the proof time', async () => {
    // HEARTBEAT_STALE_AFTER_MS 4 s: the loop waits at most 2 s for an unknown outcome.
    const { scheduler, broker, start } = executorProcesses({ heartbeatStaleAfterMs: 4_000 });
    const { executor, ports } = start();
    const at = scheduler.now();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: false }, 3);
    await drive(scheduler, executor.execute(signalFixture('absent-1', at), { allowed: true }));
    const loopFreeAfter = scheduler.now() - at;
    expect(loopFreeAfter).toBeLessThan(3_000);
    expect(signalEndings(ports, 'absent-1')).toEqual([]);
    await drive(scheduler, executor.flushOutcomes());
    const ending = signalEndings(ports, 'absent-1');
    expect(ending.map((e) => e.type)).toEqual(['trade_failed']);
    expect(ending[0]?.payload).toMatchObject({
      reason: expect.stringContaining('no position carries its request id'),
    });
    expect(scheduler.now() - at).toBeGreaterThanOrEqual(5_000);
    expect(broker.open.size).toBe(0);
  });

  it('a positions listing that throws (an adapter bug) proves nothing: the orders it was shared by stay open and are found once listing works, not failed `internal_error`', async () => {
    const { scheduler, broker, start } = executorProcesses();
    const { executor, ports } = start();
    const at = scheduler.now();
    const ids = ['throw-1', 'throw-2', 'throw-3'];
    // Every order's answers are lost; the bridge fills each a while later.
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: false }, 9);
    scheduler.after(4_000, () => ids.forEach((id) => void fillOrderOf(broker, id)));
    // The first listings throw instead of answering a value.
    let throwing = 2;
    const positions = broker.positions.bind(broker);
    broker.positions = () => (throwing-- > 0 ? Promise.reject(new Error('adapter bug')) : positions());
    await drive(
      scheduler,
      Promise.all(ids.map((id) => executor.execute(signalFixture(id, at), { allowed: true }))),
    );
    await drive(scheduler, executor.flushOutcomes());
    for (const id of ids) expect(signalEndings(ports, id).map((e) => e.type)).toEqual(['trade_executed']);
    expect(broker.open.size).toBe(3);
  });
});
