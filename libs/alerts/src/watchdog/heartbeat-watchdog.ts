import { Worker } from 'node:worker_threads';
import { HEARTBEAT_WATCHDOG_WORKER_SOURCE } from './heartbeat-watchdog-worker.source';

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

export type WatchdogReport =
  | { type: 'heartbeat_stale'; seconds_since_heartbeat: number; at: number }
  | { type: 'heartbeat_recovered'; stale_for_seconds: number; at: number }
  | { type: 'telegram_sent'; text: string }
  | { type: 'telegram_failed'; text: string; error: string };

/** A running watchdog worker. */
export interface HeartbeatWatchdog {
  /** Reports arrive on the main thread, so only once it is responsive again; the worker never waits for them. */
  onReport(listener: (report: WatchdogReport) => void): void;
  onError(listener: (error: Error) => void): void;
  stop(): Promise<void>;
}

/**
 * Start the watchdog on its own thread (see the worker source for why). The worker is unref'd:
 * it never keeps the process alive, and `stop()` terminates it (tests start many apps).
 */
export function startHeartbeatWatchdog(options: HeartbeatWatchdogOptions): HeartbeatWatchdog {
  const worker = new Worker(HEARTBEAT_WATCHDOG_WORKER_SOURCE, {
    eval: true,
    workerData: {
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
    },
    // The worker needs no stdin and writes its lines itself.
    stdin: false,
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
