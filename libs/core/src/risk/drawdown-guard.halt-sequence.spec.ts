import type { BrokerGateway } from '../broker/broker-gateway.port';
import { silentLogger } from '../logging/core-logger.port';
import { DurableState, ProcessPorts } from '../testing/memory-ports';
import { VirtualBroker } from '../testing/virtual-broker';
import { ManualScheduler } from '../time/scheduler';
import { DrawdownGuard, type DrawdownGuardSettings } from './drawdown-guard';

/**
 * The halt sequence of docs/risk.md driven in virtual time (no sleeps): latch and persist first,
 * close every position until none is left, report once, audit. A "process" is a guard on ports
 * that die when the test crashes it; the broker and the durable state outlive it.
 */
const SETTINGS: DrawdownGuardSettings = {
  capPercent: 20,
  baselineMode: 'start',
  dailyResetTimezone: 'UTC',
  warnRatio: 0.8,
  confirmReads: 2,
  equityCheckIntervalMs: 1000,
  magic: 19019,
  loopId: 'test-loop',
};

/** The broker as one process sees it: once the process crashed, it sends nothing more. */
function brokerOf(broker: VirtualBroker, ports: ProcessPorts): BrokerGateway {
  const gate =
    <A extends unknown[], R>(what: string, call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      if (!ports.crashed) ports.beforeCall(what);
      return ports.crashed ? new Promise<R>(() => undefined) : call(...args);
    };
  return {
    health: gate('broker.health', () => broker.health()),
    account: gate('broker.account', () => broker.account()),
    positions: gate('broker.positions', () => broker.positions()),
    deals: gate('broker.deals', () => broker.deals()),
    symbol: gate('broker.symbol', (name: string) => broker.symbol(name)),
    openPosition: gate('broker.open', (r) => broker.openPosition(r)),
    closePosition: gate('broker.close', (r) => broker.closePosition(r)),
  };
}

interface Process {
  guard: DrawdownGuard;
  ports: ProcessPorts;
  /** The process dies: its ports hang, its timers stop. */
  crash(): void;
}

async function startProcess(
  durable: DurableState,
  broker: VirtualBroker,
  scheduler: ManualScheduler,
  onCall?: (what: string, process: Process) => void,
): Promise<Process> {
  const ports = new ProcessPorts(durable, scheduler);
  const guard = new DrawdownGuard(SETTINGS, {
    broker: brokerOf(broker, ports),
    riskState: ports.riskState,
    audit: ports.audit,
    events: ports.eventSink,
    alerts: ports.alertSink,
    scheduler,
    clock: scheduler,
    logger: silentLogger,
    stopping: () => false,
  });
  const process: Process = {
    guard,
    ports,
    crash: () => {
      ports.crash();
      guard.stop();
    },
  };
  if (onCall !== undefined) ports.beforeCall = (what) => onCall(what, process);
  let started = false;
  void (async () => {
    const load = await ports.riskState.load();
    await guard.start({ riskState: load, problems: [], ledgerTrusted: true, where: 'memory' });
    started = true;
  })();
  // Its first equity read takes a little virtual time; a process crashed meanwhile never finishes starting.
  for (let i = 0; i < 100 && !started && !ports.crashed; i++) await scheduler.advanceAsync(10);
  return process;
}

/** Waits for `work` while advancing virtual time (the work needs the broker's answers, which take time). */
async function drive<T>(scheduler: ManualScheduler, work: Promise<T>): Promise<T> {
  let done = false;
  void work.finally(() => (done = true)).catch(() => undefined);
  for (let i = 0; i < 10_000 && !done; i++) await scheduler.advanceAsync(5);
  return work;
}

/** Advances virtual time in small steps, letting every timer's work settle. */
async function run(scheduler: ManualScheduler, ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) await scheduler.advanceAsync(step);
}

function setUp(positions = 3) {
  const scheduler = new ManualScheduler();
  const broker = new VirtualBroker(scheduler);
  for (let i = 0; i < positions; i++) broker.addPosition();
  return { scheduler, broker, durable: new DurableState() };
}

describe('halt sequence (virtual time)', () => {
  it('a cap breach latches, persists, closes every position, reports once with honest counts and audits', async () => {
    const { scheduler, broker, durable } = setUp(3);
    const p = await startProcess(durable, broker, scheduler);
    broker.equity = 7_500;
    await run(scheduler, 3_000);
    expect(durable.riskState?.halt).toMatchObject({ source: 'drawdown_cap', reportedAt: expect.any(Number) });
    expect(broker.open.size).toBe(0);
    expect(p.ports.eventsOf('drawdown_cap_triggered').map((e) => e.payload)).toEqual([
      expect.objectContaining({
        cap: 'total',
        drawdown_percent: 25,
        positions_closed: 3,
        positions_failed: 0,
      }),
    ]);
    expect(durable.audit.map((a) => a.action)).toEqual(['halt', 'cap_triggered']);
    expect(p.guard.tradingState()).toBe('halted');
  });

  it('a breach during a close-all changes nothing: one halt, one report, and the account ends flat', async () => {
    const { scheduler, broker, durable } = setUp(3);
    const p = await startProcess(durable, broker, scheduler);
    // Slow closes, and the first one of the third position fails: the close-all takes a while.
    broker.failNext('close', { kind: 'delay', ms: 400 }, 2);
    broker.failNext('close', { kind: 'transient' }, 3);
    await drive(scheduler, p.guard.manualHalt('news', 'ops'));
    const haltId = durable.riskState?.halt?.id;
    broker.equity = 5_000; // the market falls through the cap while the halt is closing
    await run(scheduler, 10_000);
    expect(durable.riskState?.halt?.id).toBe(haltId);
    expect(broker.open.size).toBe(0);
    expect(p.ports.eventsOf('halted')).toHaveLength(1);
    expect(p.ports.eventsOf('drawdown_cap_triggered').map((e) => e.payload.cap)).toEqual(['manual']);
    expect(durable.audit.filter((a) => a.action === 'halt')).toHaveLength(1);
  });

  it('a resume racing the close-all: the latch lifts only once the resume is durable, and no close follows it', async () => {
    const { scheduler, broker, durable } = setUp(4);
    const p = await startProcess(durable, broker, scheduler);
    broker.failNext('close', { kind: 'delay', ms: 2_000 }, 4);
    await drive(scheduler, p.guard.manualHalt('news', 'ops'));
    await run(scheduler, 100); // the close-all is under way
    durable.failNextSaves = 1;
    expect(await drive(scheduler, p.guard.resume('alice', 'checked'))).toMatchObject({
      ok: false,
      code: 'persist_failed',
    });
    expect(p.guard.tradingState()).toBe('halted');
    const resumed = await drive(scheduler, p.guard.resume('alice', 'checked'));
    expect(resumed).toMatchObject({ ok: true });
    expect(durable.riskState?.halt).toBeNull();
    const closesAtResume = broker.closesSent().length;
    await run(scheduler, 10_000);
    expect(broker.closesSent()).toHaveLength(closesAtResume);
    expect(p.guard.tradingState()).toBe('active');
    expect(p.ports.eventsOf('resumed')).toHaveLength(1);
  });

  it('a resume while the latch is being written: the disk ends resumed, and nothing closes after the resume', async () => {
    const { scheduler, broker, durable } = setUp(2);
    const p = await startProcess(durable, broker, scheduler);
    durable.saveDelayMs = 100; // a slow fsync: the halt's writes and the resume's queue behind one another
    broker.failNext('close', { kind: 'delay', ms: 1_000 }, 2);
    const halting = p.guard.manualHalt('fat finger', 'ops');
    await scheduler.advanceAsync(20); // the latch is being written
    const resumed = await drive(scheduler, p.guard.resume('alice', 'false alarm'));
    await drive(scheduler, halting);
    expect(resumed).toMatchObject({ ok: true });
    const closesAtResume = broker.closesSent().length;
    await run(scheduler, 5_000);
    expect(broker.closesSent()).toHaveLength(closesAtResume);
    // Whatever the halt queued before the resume was written with the state as it stood by then.
    expect(durable.riskState?.halt).toBeNull();
    expect(p.guard.tradingState()).toBe('active');
  });

  describe('a crash before every port call of the sequence, then a restart from what is durable', () => {
    /** How many port calls a whole cap trigger makes, from the breach to the report. */
    async function callsOfAWholeSequence(): Promise<number> {
      const { scheduler, broker, durable } = setUp(3);
      let calls = 0;
      let counting = false;
      await startProcess(durable, broker, scheduler, () => {
        if (counting) calls++;
      });
      counting = true;
      broker.equity = 7_500;
      await run(scheduler, 3_000);
      return calls;
    }

    it('never trades past a persisted latch, always ends flat and reported, and audits the halt', async () => {
      const total = await callsOfAWholeSequence();
      expect(total).toBeGreaterThan(10);
      for (let crashAt = 1; crashAt <= total; crashAt++) {
        const { scheduler, broker, durable } = setUp(3);
        let calls = 0;
        let armed = false;
        const first = await startProcess(durable, broker, scheduler, (_what, process) => {
          if (armed && ++calls === crashAt) process.crash();
        });
        armed = true;
        broker.equity = 7_500;
        await run(scheduler, 3_000);
        first.crash();
        const latched = durable.riskState?.halt ?? null;

        const second = await startProcess(durable, broker, scheduler);
        // What the disk said holds at once: a persisted latch starts the next process halted.
        if (latched !== null) expect(second.guard.tradingState()).toBe('halted');
        await run(scheduler, 10_000);
        const where = `crash before port call ${crashAt} of ${total}`;
        expect({ where, halted: second.guard.isHalted(), open: broker.open.size }).toEqual({
          where,
          halted: true,
          open: 0,
        });
        const reports = [...first.ports.events, ...second.ports.events].filter(
          (e) => e.type === 'drawdown_cap_triggered',
        );
        expect({ where, reported: reports.length >= 1 }).toEqual({ where, reported: true });
        expect({ where, audited: durable.audit.some((a) => a.action === 'halt') }).toEqual({
          where,
          audited: true,
        });
        expect(durable.riskState?.halt?.reportedAt).toEqual(expect.any(Number));
        // Once the report is durable, a restart does not report again.
        const third = await startProcess(durable, broker, scheduler);
        await run(scheduler, 3_000);
        expect(third.ports.eventsOf('drawdown_cap_triggered')).toEqual([]);
        third.crash();
        second.crash();
      }
    });
  });
});
