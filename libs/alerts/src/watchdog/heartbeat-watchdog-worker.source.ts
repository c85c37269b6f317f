/**
 * The watchdog worker, as plain JavaScript in a string: it runs with `new Worker(source, { eval: true })`,
 * so it needs no file on disk and behaves the same under ts-jest and in the compiled build. Only
 * node builtins and globals inside (fetch, AbortSignal, Atomics).
 *
 * It runs on its own thread, so it keeps working while the main thread is frozen: it reads the
 * heartbeat stamp from shared memory, and on its own sends the Telegram message (a direct Bot API
 * call) and writes the log line (fs.writeSync on the log fd: a worker's process.stdout is
 * forwarded through the main thread, which is exactly the thread that may be blocked).
 *
 * workerData: { buffer: SharedArrayBuffer (BigInt64 epoch ms of the last heartbeat, 0 = none yet),
 *   loopId, staleAfterMs, checkIntervalMs, logFd: number | null,
 *   telegram: { apiRoot, botToken, chatId } | null, requestTimeoutMs, retryBaseMs, retryMaxMs }
 * Messages to the parent: { type: 'heartbeat_stale' | 'heartbeat_recovered' | 'telegram_sent' | 'telegram_failed', ... }.
 */
export const HEARTBEAT_WATCHDOG_WORKER_SOURCE = String.raw`
'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const { writeSync } = require('node:fs');

const cfg = workerData;
const stamp = new BigInt64Array(cfg.buffer);
const outbox = [];
let sending = false;
let stale = null; // { lastStamp, since } while stale

function log(level, type, fields, msg) {
  if (cfg.logFd === null) return;
  const line = JSON.stringify(Object.assign({ level: level, time: new Date().toISOString(), pid: process.pid, loop_id: cfg.loopId, context: 'heartbeat-watchdog', type: type }, fields, { msg: msg }));
  try {
    writeSync(cfg.logFd, line + '\n');
  } catch (error) {
    // The log fd is gone (process exiting): nothing left to tell.
  }
}

function tell(message) {
  try {
    parentPort.postMessage(message);
  } catch (error) {
    // The parent is going away.
  }
}

function redact(text) {
  return cfg.telegram === null ? text : String(text).split(cfg.telegram.botToken).join('[redacted]');
}

function check() {
  const last = Number(Atomics.load(stamp, 0));
  if (last <= 0) return; // the loop has not started its staleness clock yet
  const now = Date.now();
  const ageMs = now - last;
  if (stale === null && ageMs > cfg.staleAfterMs) {
    const seconds = Math.floor(ageMs / 1000);
    stale = { lastStamp: last, since: now };
    log(30, 'heartbeat_stale', { seconds_since_heartbeat: seconds, stale_after_ms: cfg.staleAfterMs }, 'heartbeat stale: no heartbeat for ' + seconds + ' s');
    enqueue('Heartbeat stale: loop ' + cfg.loopId + ', no heartbeat for ' + seconds + ' s\n' +
      'The trading loop has made no progress for more than ' + cfg.staleAfterMs + ' ms (HEARTBEAT_STALE_AFTER_MS); /health/live fails.');
    tell({ type: 'heartbeat_stale', seconds_since_heartbeat: seconds, at: now });
  } else if (stale !== null && last !== stale.lastStamp) {
    const staleForSeconds = Math.round((last - stale.lastStamp) / 1000);
    stale = null;
    log(30, 'heartbeat_recovered', { stale_for_seconds: staleForSeconds }, 'heartbeat recovered after ' + staleForSeconds + ' s');
    enqueue('Heartbeat recovered: loop ' + cfg.loopId + ', heartbeats resumed after ' + staleForSeconds + ' s without one');
    tell({ type: 'heartbeat_recovered', stale_for_seconds: staleForSeconds, at: now });
  }
}

function enqueue(text) {
  if (cfg.telegram === null) return;
  outbox.push(text);
  if (outbox.length > 50) outbox.shift(); // bounded; only stale/recovered pairs ever land here
  if (!sending) drain().catch((error) => log(50, 'watchdog_error', { error: redact(error && error.message) }, 'watchdog sender failed'));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// One Bot API call: { ok: true } or { ok: false, retry, delayMs?, error }.
async function sendOnce(text) {
  const root = cfg.telegram.apiRoot.endsWith('/') ? cfg.telegram.apiRoot : cfg.telegram.apiRoot + '/';
  const url = new URL('./bot' + cfg.telegram.botToken + '/sendMessage', root);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: cfg.telegram.chatId, text: text }),
      signal: AbortSignal.timeout(cfg.requestTimeoutMs),
    });
    const body = await response.json().catch(() => null);
    if (response.ok && body !== null && body.ok === true) return { ok: true };
    const description = (body && body.description) || response.statusText;
    if (response.status === 429) {
      const retryAfter = body && body.parameters && body.parameters.retry_after;
      return { ok: false, retry: true, delayMs: typeof retryAfter === 'number' ? retryAfter * 1000 : undefined, error: '429 ' + description };
    }
    return { ok: false, retry: response.status >= 500, error: response.status + ' ' + description };
  } catch (error) {
    const cause = error && error.cause && error.cause.code ? ' (' + error.cause.code + ')' : '';
    return { ok: false, retry: true, error: redact((error && error.name) + ': ' + (error && error.message) + cause) };
  }
}

async function drain() {
  sending = true;
  try {
    let attempt = 0;
    while (outbox.length > 0) {
      const text = outbox[0];
      const result = await sendOnce(text);
      if (result.ok) {
        outbox.shift();
        attempt = 0;
        tell({ type: 'telegram_sent', text: text });
        continue;
      }
      attempt++;
      if (!result.retry) {
        outbox.shift();
        attempt = 0;
        log(50, 'watchdog_alert_failed', { error: result.error }, 'Telegram refused the watchdog alert for good');
        tell({ type: 'telegram_failed', text: text, error: result.error });
        continue;
      }
      const backoff = Math.min(cfg.retryMaxMs, cfg.retryBaseMs * Math.pow(2, attempt - 1));
      const delayMs = result.delayMs === undefined ? backoff : Math.max(result.delayMs, cfg.retryBaseMs);
      log(40, 'watchdog_alert_retry', { error: result.error, attempt: attempt, retry_in_ms: delayMs }, 'watchdog alert not sent yet; retrying');
      await sleep(delayMs);
    }
  } finally {
    sending = false;
  }
}

setInterval(check, cfg.checkIntervalMs);
check();
`;
