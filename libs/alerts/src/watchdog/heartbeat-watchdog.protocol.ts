/** What the watchdog worker is started with (workerData). */
export interface WatchdogWorkerData {
  /** SharedArrayBuffer of one BigInt64: epoch ms of the last heartbeat (0 until the first stamp). */
  buffer: SharedArrayBuffer;
  loopId: string;
  staleAfterMs: number;
  checkIntervalMs: number;
  /** File descriptor the worker writes its JSON log lines to (1 = stdout); null: no lines. */
  logFd: number | null;
  telegram: { apiRoot: string; botToken: string; chatId: string } | null;
  requestTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/** What the worker tells the main thread (which reads it only once it is responsive again). */
export type WatchdogReport =
  | { type: 'heartbeat_stale'; seconds_since_heartbeat: number; at: number }
  | { type: 'heartbeat_recovered'; stale_for_seconds: number; at: number }
  | { type: 'telegram_sent'; text: string }
  | { type: 'telegram_failed'; text: string; error: string };
