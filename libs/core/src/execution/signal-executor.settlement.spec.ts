import { drive, executorProcesses, signalEndings, signalFixture } from '../testing/signal-executor-harness';
import { openRequestId } from './request-ids';

/**
 * Order settlement in virtual time (no sleeps): an order whose answer was lost is settled by
 * looking for its position, never sent twice, never declared failed while its position may exist,
 * and a stop leaves it unfinished for the next start, which settles it by its comment.
 */
describe('order settlement (virtual time)', () => {
  it('an order that filled but whose answers were all lost is found by its comment: executed once, sent as one order', async () => {
    const { scheduler, broker, start } = executorProcesses();
    const { executor, ports } = start();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: true });
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: false }, 2);
    await drive(scheduler, executor.execute(signalFixture('s-1', scheduler.now()), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes());
    expect(signalEndings(ports, 's-1').map((e) => e.type)).toEqual(['trade_executed']);
    expect(broker.open.size).toBe(1);
    expect(new Set(broker.ordersSent())).toEqual(new Set([openRequestId('s-1')]));
    expect(ports.durable.ledger.get('s-1')?.at(-1)).toMatchObject({ status: 'executed' });
  });

  it('an order whose answers were lost and that never reached the terminal is failed only once positions prove it', async () => {
    const { scheduler, broker, start } = executorProcesses();
    const { executor, ports } = start();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: false }, 3);
    broker.failNext('positions', { kind: 'transient' }, 3);
    await drive(scheduler, executor.execute(signalFixture('s-2', scheduler.now()), { allowed: true }));
    await drive(scheduler, executor.flushOutcomes());
    const [ending] = signalEndings(ports, 's-2');
    expect(ending?.type).toBe('trade_failed');
    expect(ending?.payload).toMatchObject({
      reason: expect.stringContaining('no position carries its request id'),
    });
    expect(broker.open.size).toBe(0);
  });

  it('positions unlistable for long: the loop goes on, and the signal is settled behind it when they come back', async () => {
    const { scheduler, broker, start } = executorProcesses();
    const { executor, ports } = start();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: true }, 3);
    broker.failNext('positions', { kind: 'transient' }, 40);
    const started = scheduler.now();
    await drive(scheduler, executor.execute(signalFixture('s-3', started), { allowed: true }));
    // The tick waited at most resolveWaitMs (30 s: half the heartbeat's 60 s), not the whole outage.
    expect(scheduler.now() - started).toBeLessThanOrEqual(31_000);
    expect(signalEndings(ports, 's-3')).toEqual([]);
    await drive(scheduler, executor.flushOutcomes(), 600_000);
    expect(signalEndings(ports, 's-3').map((e) => e.type)).toEqual(['trade_executed']);
  });

  it('a stop during settlement leaves the signal unfinished, and the next start settles it by its comment without sending it', async () => {
    const { scheduler, broker, durable, start } = executorProcesses();
    const first = start();
    broker.failNext('open', { kind: 'unknown_outcome', executeFirst: true }, 3);
    broker.failNext('positions', { kind: 'transient' }, 40);
    const at = scheduler.now();
    // The ledger knows the signal (the fan-out claimed it before the loop took it).
    await first.ports.ledger.claim(signalFixture('s-4', at), { accepted: ['default'], rejected: [] }, at);
    await drive(scheduler, first.executor.execute(signalFixture('s-4', at), { allowed: true }));
    first.stop();
    await drive(scheduler, first.executor.flushOutcomes());
    expect(signalEndings(first.ports, 's-4')).toEqual([]);
    expect(durable.ledger.get('s-4')?.at(-1)?.status).toBe('accepted');

    // The next start: positions list again; the restored signal is found, not sent again.
    broker.clearFaults();
    const ordersBefore = broker.ordersSent().length;
    const next = start();
    await drive(
      scheduler,
      next.executor.execute(signalFixture('s-4', at, { restoredAtMs: scheduler.now() }), { allowed: true }),
    );
    await drive(scheduler, next.executor.flushOutcomes());
    expect(signalEndings(next.ports, 's-4').map((e) => e.type)).toEqual(['trade_executed']);
    expect(broker.ordersSent()).toHaveLength(ordersBefore);
    expect(broker.open.size).toBe(1);
  });
});
