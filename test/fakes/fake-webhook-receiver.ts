import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitForMatch } from '../support/wait-for-match';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

/** How the receiver answers: 200, another status, or never (holds the request open until close). */
export type ReceiverMode = { kind: 'ok' } | { kind: 'status'; status: number } | { kind: 'hang' };

export interface FakeWebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Requests seen, answered or not. */
  requests: number;
  setMode(mode: ReceiverMode): void;
  waitFor(predicate: (r: ReceivedWebhook[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A webhook receiver: a real node:http server on 127.0.0.1 that records every POST. */
export async function startFakeWebhookReceiver(
  mode: ReceiverMode = { kind: 'ok' },
): Promise<FakeWebhookReceiver> {
  let current = mode;
  const received: ReceivedWebhook[] = [];
  const waiters = new Set<() => void>();
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (current.kind === 'hang') return;
      const body = Buffer.concat(chunks).toString('utf8');
      if (current.kind === 'status') {
        res.writeHead(current.status).end();
        return;
      }
      received.push({ headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(204).end();
      for (const waiter of waiters) waiter();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/trading`,
    received,
    get requests() {
      return state.requests;
    },
    setMode: (m) => (current = m),
    waitFor: async (predicate, timeoutMs = 5_000) => {
      await waitForMatch(
        () => (predicate(received) ? true : undefined),
        waiters,
        timeoutMs,
        () =>
          `webhook receiver: condition not met in ${timeoutMs} ms; got ${received.map((r) => r.json.type).join(', ')}`,
      );
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A URL on which nothing listens (connection refused): a port that was just free. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/dead`;
}
