import type { Position } from '../broker/broker-types';
import { openRequestId } from '../execution/request-ids';
import type { Sizing } from '../execution/order-sizing';
import { SignalExecutor, type OpenGate } from '../execution/signal-executor';
import { silentLogger } from '../logging/core-logger.port';
import type { OpenRefusal } from '../risk/trading-state';
import type { TradeSignal } from '../signals/trade-signal';
import { ManualScheduler } from '../time/scheduler';
import { DurableState, ProcessPorts } from './memory-ports';
import { TEST_MAGIC } from './position-fixture';
import { VirtualBroker } from './virtual-broker';

/**
 * A SignalExecutor in virtual time, for its specs: processes that start on one broker and one
 * durable state (a crash or a stop leaves both to the next start), and the helpers that feed and
 * read them.
 */
export interface SignalExecutorOptions {
  /** What the drawdown guard answers an open; none by default. */
  refusal?: () => OpenRefusal | null;
  halted?: () => boolean;
  sizing?: Sizing;
  maxOrdersPerSecond?: number;
  heartbeatStaleAfterMs?: number;
  /** As for a shared account: whether the process shuts down, apart from `stopping` (see SignalExecutorPorts). */
  shuttingDown?: () => boolean;
}

/** A drawdown guard that lets every order through unless told otherwise, and remembers what closed. */
function openGate(options: SignalExecutorOptions): OpenGate {
  const closed: Position[] = [];
  return {
    isHalted: options.halted ?? (() => false),
    haltCount: () => 0,
    openRefusal: options.refusal ?? (() => null),
    closedPositionWithRequestId: (id) => closed.find((p) => p.comment === id.slice(0, 26)),
    noteOpened: () => undefined,
    noteClosed: (position) => void closed.push(position),
  };
}

/** One process: its executor, its ports, its `stopping` flag, and a stop that sets it and ends the executor's waits. */
export interface ExecutorProcess {
  executor: SignalExecutor;
  ports: ProcessPorts;
  flags: { stopping: boolean };
  stop(): void;
}

/**
 * A scheduler, a broker (a VirtualBroker, or what `makeBroker` makes) and a durable state, and
 * `start`, which starts a process on them; each start has its own ports and its own stop.
 */
export function executorProcesses<B extends VirtualBroker = VirtualBroker>(
  options: SignalExecutorOptions & { makeBroker?: (scheduler: ManualScheduler) => B } = {},
) {
  const scheduler = new ManualScheduler();
  const broker = options.makeBroker?.(scheduler) ?? new VirtualBroker(scheduler);
  const durable = new DurableState();
  const start = (): ExecutorProcess => {
    const flags = { stopping: false };
    const ports = new ProcessPorts(durable, scheduler);
    const executor = new SignalExecutor(
      {
        magic: TEST_MAGIC,
        sizing: options.sizing ?? { mode: 'multiplier', value: 1 },
        maxVolume: 100,
        maxOrdersPerSecond: options.maxOrdersPerSecond ?? 50,
        maxAgeMs: 300_000,
        heartbeatStaleAfterMs: options.heartbeatStaleAfterMs ?? 60_000,
        retry: { maxRetries: 2, baseDelayMs: 50, maxDelayMs: 2_000, random: () => 0.5 },
      },
      {
        broker,
        ledger: ports.accountLedger,
        events: ports.eventSink,
        gate: openGate(options),
        scheduler,
        clock: scheduler,
        logger: silentLogger,
        stopping: () => flags.stopping,
        shuttingDown: options.shuttingDown,
      },
    );
    const stop = () => {
      flags.stopping = true;
      executor.stop();
    };
    return { executor, ports, flags, stop };
  };
  // B is VirtualBroker itself when no makeBroker is given.
  return { scheduler, broker: broker as B, durable, start };
}

/** A buy of 0.1 lot of EURUSD, created and received at `at`. */
export const signalFixture = (id: string, at: number, extra: Partial<TradeSignal> = {}): TradeSignal => ({
  id,
  instrument: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  createdAtMs: at,
  receivedAtMs: at,
  source: 'test',
  ...extra,
});

/** Advances virtual time in 10 ms steps until `work` ends (or `limitMs` passed), then awaits it. */
export async function drive(
  scheduler: ManualScheduler,
  work: Promise<unknown>,
  limitMs = 120_000,
): Promise<void> {
  let done = false;
  void work.finally(() => (done = true));
  for (let t = 0; t < limitMs && !done; t += 10) await scheduler.advanceAsync(10);
  await work;
}

/** How the signal `id` ended on this process, in order: executed, failed or rejected events. */
export const signalEndings = (ports: ProcessPorts, id: string) =>
  ports.events
    .filter((e) => 'signal_id' in e.payload && e.payload.signal_id === id)
    .filter((e) => e.type === 'trade_executed' || e.type === 'trade_failed' || e.type === 'signal_rejected');

/** The bridge fills the order of signal `id`: its position is on the account, found by its comment. */
export const fillOrderOf = (broker: VirtualBroker, id: string): Position =>
  broker.addPosition({ symbol: 'EURUSD', magic: TEST_MAGIC, comment: openRequestId(id).slice(0, 26) });
