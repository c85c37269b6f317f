import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WatchdogReport, WatchdogWorkerData } from './heartbeat-watchdog.protocol';

export type { WatchdogReport } from './heartbeat-watchdog.protocol';

export interface HeartbeatWatchdogOptions {
  /** SharedArrayBuffer of one BigInt64: epoch ms of the last heartbeat (0 until the first stamp). */
  buffer: SharedArrayBuffer;
  loopId: string;
  staleAfterMs: number;
  checkIntervalMs?: number;
  /** File descriptor the worker writes its JSON log lines to (1 = stdout); null: no lines. */
  logFd: number | null;
  telegram: { apiRoot: string; botToken: string; chatId: string } | null;
  requestTimeoutMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** A running watchdog worker. */
export interface HeartbeatWatchdog {
  /** Reports arrive on the main thread, so only once it is responsive again; the worker never waits for them. */
  onReport(listener: (report: WatchdogReport) => void): void;
  onError(listener: (error: Error) => void): void;
  stop(): Promise<void>;
}

/**
 * The worker's entry: the compiled heartbeat-watchdog.worker.js beside this file in a build; when
 * the service runs from its TypeScript sources (tests, benchmarks), the .ts through the
 * repository's transpile-on-require hook, which a two-line bootstrap loads first.
 */
function createWorker(workerData: WatchdogWorkerData): Worker {
  const options = { workerData, stdin: false };
  if (!__filename.endsWith('.ts'))
    return new Worker(join(__dirname, 'heartbeat-watchdog.worker.js'), options);
  const hook = join(__dirname, '../../../../scripts/register-ts.cjs');
  const entry = join(__dirname, 'heartbeat-watchdog.worker.ts');
  return new Worker(`require(${JSON.stringify(hook)}); require(${JSON.stringify(entry)});`, {
    ...options,
    eval: true,
  });
}

/**
 * Start the watchdog on its own thread (see heartbeat-watchdog.worker.ts for why). The worker is
 * unref'd: it never keeps the process alive, and `stop()` terminates it (tests start many apps).
 */
export function startHeartbeatWatchdog(options: HeartbeatWatchdogOptions): HeartbeatWatchdog {
  const worker = createWorker({
    buffer: options.buffer,
    loopId: options.loopId,
    staleAfterMs: options.staleAfterMs,
    checkIntervalMs:
      options.checkIntervalMs ?? Math.max(10, Math.min(250, Math.floor(options.staleAfterMs / 4))),
    logFd: options.logFd,
    telegram: options.telegram,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    retryBaseMs: options.retryBaseMs ?? 500,
    retryMaxMs: options.retryMaxMs ?? 30_000,
  });
  worker.unref();
  let stopped: Promise<void> | undefined;
  return {
    onReport: (listener) => worker.on('message', (message: WatchdogReport) => listener(message)),
    onError: (listener) => worker.on('error', listener),
    stop: () => {
      stopped ??= worker.terminate().then(() => undefined);
      return stopped;
    },
  };
}
