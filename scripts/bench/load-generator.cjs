// Load generator for the benchmarks, run in a worker thread (its own event loop and core):
// signed inbox POSTs over keep-alive connections, either as fast as `concurrency` allows or at a
// fixed `ratePerSecond`. Posts { done, sent, failed, elapsedMs } back when finished.
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { createHmac } = require('node:crypto');

const { port, secret, count, concurrency, ratePerSecond, prefix } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const instruments = ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'];

function send(i) {
  const id = `${prefix}-${i}`;
  const body = JSON.stringify({
    id,
    instrument: instruments[i % instruments.length],
    side: i % 2 ? 'sell' : 'buy',
    volume: 0.01,
  });
  const ts = String(Date.now());
  const signature = createHmac('sha256', secret).update(`${ts}.`).update(body).digest('hex');
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/signals',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-timestamp': ts,
          'x-signature': signature,
          'x-bench-id': id,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 202));
      },
    );
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

async function main() {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  if (ratePerSecond) {
    const inFlight = [];
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / ratePerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inFlight.push(send(i).then((ok) => ok || failed++));
    }
    await Promise.all(inFlight);
  } else {
    const worker = async () => {
      while (next < count) {
        const i = next++;
        if (!(await send(i))) failed++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  parentPort.postMessage({ done: true, sent: count, failed, elapsedMs: performance.now() - started });
  agent.destroy();
}

main();
