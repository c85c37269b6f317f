import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNED_REQUEST_HEADER, SIGNED_REQUEST_MAX_SKEW_MS, verifyRequestSignature } from '@app/core';

/**
 * A fake approvals platform: a real HTTP server on 127.0.0.1 serving
 * `POST /api/v1/approvals/pending` (docs/platform-approvals.openapi.yaml). It verifies the
 * signature (same scheme as the MT5 bridge, 30 s window) and refuses a bad one with 401, and it
 * answers every poll with every signal still listed, as the real platform repeats an approved
 * signal until it ages out: the service must execute each at most once.
 */

export interface PlatformSignal {
  id: string;
  instrument: string;
  side: 'buy' | 'sell' | 'close';
  volume?: number;
  sl?: number | null;
  tp?: number | null;
  created_at: string;
  approved_at: string;
  [extra: string]: unknown;
}

export type PlatformFault =
  /** Answer this status with an error body. */
  | { kind: 'http'; status: number }
  /** 200 with a body that is not the promised envelope. */
  | { kind: 'garbage'; body?: string }
  /** Destroy the socket. */
  | { kind: 'reset' };

export interface PlatformRequestRecord {
  at: number;
  method: string;
  path: string;
  body: string;
  signatureOk: boolean;
  status: number;
}

export class FakePlatform {
  readonly keyId: string;
  readonly secret: string;
  readonly requests: PlatformRequestRecord[] = [];
  /** Listed on every poll until removed; `unknown` so tests can list malformed ones too. */
  signals: unknown[] = [];

  private readonly server: Server;
  private port = 0;
  private faults: { fault: PlatformFault; remaining: number }[] = [];
  private down = false;

  constructor(options: { keyId?: string; secret?: string } = {}) {
    this.keyId = options.keyId ?? 'platform-key';
    this.secret = options.secret ?? randomBytes(16).toString('hex');
    this.server = createServer((req, res) => this.onRequest(req, res));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Polls that reached the handler (whatever the answer). */
  get polls(): PlatformRequestRecord[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/approvals/pending');
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  failNext(fault: PlatformFault, times = 1): void {
    this.faults.push({ fault, remaining: times });
  }

  /** Down: the listener is closed (connection refused); up again on the same port. */
  async setDown(down: boolean): Promise<void> {
    if (down === this.down) return;
    this.down = down;
    if (down) await this.stopListening();
    else await this.listen(this.port);
  }

  async close(): Promise<void> {
    if (!this.down) await this.stopListening();
    this.down = true;
  }

  private async stopListening(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const path = target.split('?')[0] ?? '/';
    const header = (name: string): string | undefined => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    };
    const timestamp = header(SIGNED_REQUEST_HEADER.timestamp);
    const signatureOk =
      header(SIGNED_REQUEST_HEADER.apiKey) === this.keyId &&
      timestamp !== undefined &&
      /^\d+$/.test(timestamp) &&
      Math.abs(Date.now() - Number(timestamp)) <= SIGNED_REQUEST_MAX_SKEW_MS &&
      verifyRequestSignature(
        this.secret,
        { timestamp, method, pathWithQuery: target, body },
        header(SIGNED_REQUEST_HEADER.signature),
      );
    const record: PlatformRequestRecord = { at: Date.now(), method, path, body, signatureOk, status: 0 };
    this.requests.push(record);
    const answer = (status: number, payload: unknown, raw?: string) => {
      record.status = status;
      const text = raw ?? JSON.stringify(payload);
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
    };

    if (!signatureOk)
      return answer(401, { error: 'unauthorized', message: 'bad key, signature or timestamp' });
    if (method !== 'POST' || path !== '/api/v1/approvals/pending')
      return answer(404, { error: 'not_found', message: `${method} ${path}` });
    let limit = Number.POSITIVE_INFINITY;
    try {
      const parsed = JSON.parse(body) as { limit?: unknown };
      if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
      if (parsed.limit !== undefined) {
        if (typeof parsed.limit !== 'number' || !Number.isInteger(parsed.limit) || parsed.limit < 1)
          throw new Error('limit must be a positive integer');
        limit = parsed.limit;
      }
    } catch (error) {
      return answer(400, { error: 'bad_request', message: String(error) });
    }
    const rule = this.faults.find((f) => f.remaining > 0);
    if (rule !== undefined) {
      rule.remaining -= 1;
      this.faults = this.faults.filter((f) => f.remaining > 0);
      switch (rule.fault.kind) {
        case 'http':
          return answer(rule.fault.status, { error: `http_${rule.fault.status}`, message: 'injected fault' });
        case 'garbage':
          return answer(200, undefined, rule.fault.body ?? '{"signals": [');
        case 'reset':
          record.status = -1;
          req.socket.destroy();
          return;
      }
    }
    answer(200, { signals: this.signals.slice(0, limit) });
  }
}

export async function startFakePlatform(
  options: { keyId?: string; secret?: string } = {},
): Promise<FakePlatform> {
  return new FakePlatform(options).listen();
}

let counter = 0;
/** A valid platform signal, approved `approvalMs` after it was created. */
export function platformSignal(overrides: Partial<PlatformSignal> = {}, approvalMs = 4_250): PlatformSignal {
  counter++;
  const created = Date.now() - 10_000;
  return {
    id: `plat-${process.pid}-${created.toString(36)}-${counter}`,
    instrument: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    sl: null,
    tp: null,
    created_at: new Date(created).toISOString(),
    approved_at: new Date(created + approvalMs).toISOString(),
    ...overrides,
  };
}
