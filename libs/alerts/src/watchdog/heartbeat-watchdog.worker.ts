/**
 * The heartbeat watchdog, on its own thread, so it keeps working while the main thread is frozen:
 * it reads the heartbeat stamp from shared memory, and on its own sends the Telegram message (a
 * direct Bot API call) and writes the log line (writeSync on the log fd: a worker's
 * process.stdout is forwarded through the main thread, which is exactly the thread that may be
 * blocked). Started by heartbeat-watchdog.ts; imports only node builtins and plain modules.
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { SystemScheduler } from '@app/common/time/system-scheduler';
import { HeartbeatStaleness } from '@app/core/heartbeat/heartbeat-staleness';
import { backoffDelay } from '@app/core/time/backoff';
import type { WatchdogReport, WatchdogWorkerData } from './heartbeat-watchdog.protocol';

type SendResult = { ok: true } | { ok: false; retry: boolean; delayMs?: number; error: string };

const cfg = workerData as WatchdogWorkerData;
const stamp = new BigInt64Array(cfg.buffer);
const staleness = new HeartbeatStaleness(cfg.staleAfterMs);
const timers = new SystemScheduler();
/** Bounded: only stale/recovered pairs ever land here. */
const OUTBOX_CAPACITY = 50;
const outbox: string[] = [];
let sending = false;

function log(level: number, type: string, fields: object, msg: string): void {
  if (cfg.logFd === null) return;
  const line = JSON.stringify({
    level,
    time: new Date().toISOString(),
    pid: process.pid,
    loop_id: cfg.loopId,
    context: 'heartbeat-watchdog',
    type,
    ...fields,
    msg,
  });
  try {
    writeSync(cfg.logFd, `${line}\n`);
  } catch {
    // The log fd is gone (the process is exiting): nothing left to tell.
  }
}

function tell(report: WatchdogReport): void {
  try {
    parentPort?.postMessage(report);
  } catch {
    // The parent is going away.
  }
}

function redact(text: string): string {
  return cfg.telegram === null ? text : text.split(cfg.telegram.botToken).join('[redacted]');
}

function check(): void {
  const now = Date.now();
  const change = staleness.observe(Number(Atomics.load(stamp, 0)), now);
  if (change === null) return;
  if (change.kind === 'stale') {
    const seconds = change.secondsSinceHeartbeat;
    log(
      30,
      'heartbeat_stale',
      { seconds_since_heartbeat: seconds, stale_after_ms: cfg.staleAfterMs },
      `heartbeat stale: no heartbeat for ${seconds} s`,
    );
    enqueue(
      `Heartbeat stale: loop ${cfg.loopId}, no heartbeat for ${seconds} s\n` +
        `The trading loop has made no progress for more than ${cfg.staleAfterMs} ms (HEARTBEAT_STALE_AFTER_MS); /health/live fails.`,
    );
    tell({ type: 'heartbeat_stale', seconds_since_heartbeat: seconds, at: now });
  } else {
    const seconds = change.staleForSeconds;
    log(30, 'heartbeat_recovered', { stale_for_seconds: seconds }, `heartbeat recovered after ${seconds} s`);
    enqueue(`Heartbeat recovered: loop ${cfg.loopId}, heartbeats resumed after ${seconds} s without one`);
    tell({ type: 'heartbeat_recovered', stale_for_seconds: seconds, at: now });
  }
}

function enqueue(text: string): void {
  if (cfg.telegram === null) return;
  outbox.push(text);
  if (outbox.length > OUTBOX_CAPACITY) outbox.shift();
  if (!sending)
    drain().catch((error: unknown) =>
      log(50, 'watchdog_error', { error: redact(String(error)) }, 'watchdog sender failed'),
    );
}

/** One Bot API call. */
async function sendOnce(
  text: string,
  telegram: NonNullable<WatchdogWorkerData['telegram']>,
): Promise<SendResult> {
  const root = telegram.apiRoot.endsWith('/') ? telegram.apiRoot : `${telegram.apiRoot}/`;
  const url = new URL(`./bot${telegram.botToken}/sendMessage`, root);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: telegram.chatId, text }),
      signal: AbortSignal.timeout(cfg.requestTimeoutMs),
    });
    const body = (await response.json().catch(() => null)) as {
      ok?: boolean;
      description?: string;
      parameters?: { retry_after?: unknown };
    } | null;
    if (response.ok && body?.ok === true) return { ok: true };
    const description = body?.description ?? response.statusText;
    if (response.status === 429) {
      const retryAfter = body?.parameters?.retry_after;
      return {
        ok: false,
        retry: true,
        ...(typeof retryAfter === 'number' ? { delayMs: retryAfter * 1000 } : {}),
        error: `429 ${description}`,
      };
    }
    return { ok: false, retry: response.status >= 500, error: `${response.status} ${description}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const name = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ok: false, retry: true, error: redact(`${name}${cause === undefined ? '' : ` (${cause})`}`) };
  }
}

async function drain(): Promise<void> {
  const telegram = cfg.telegram;
  if (telegram === null) return;
  sending = true;
  try {
    let attempt = 0;
    while (outbox.length > 0) {
      const text = outbox[0];
      const result = await sendOnce(text, telegram);
      if (result.ok) {
        outbox.shift();
        attempt = 0;
        tell({ type: 'telegram_sent', text });
        continue;
      }
      attempt++;
      if (!result.retry) {
        outbox.shift();
        attempt = 0;
        log(
          50,
          'watchdog_alert_failed',
          { error: result.error },
          'Telegram refused the watchdog alert for good',
        );
        tell({ type: 'telegram_failed', text, error: result.error });
        continue;
      }
      const backoff = backoffDelay(
        { baseDelayMs: cfg.retryBaseMs, maxDelayMs: cfg.retryMaxMs, jitter: 'none' },
        attempt - 1,
      );
      const delayMs = result.delayMs === undefined ? backoff : Math.max(result.delayMs, cfg.retryBaseMs);
      log(
        40,
        'watchdog_alert_retry',
        { error: result.error, attempt, retry_in_ms: delayMs },
        'watchdog alert not sent yet; retrying',
      );
      await timers.sleep(delayMs);
    }
  } finally {
    sending = false;
  }
}

timers.every(cfg.checkIntervalMs, check);
check();
