import fc from 'fast-check';
import { openRequestId, signInboxRequest } from '@app/core';
import { startFakeMt5Bridge } from '../fakes/fake-mt5-bridge';
import { startTestApp } from './test-app';

/**
 * Fuzzing the public surface of one in-process app (against a fake bridge, so every order is
 * counted): generated inbox bodies, headers and signatures, and admin calls with generated
 * methods, paths, tokens and bodies. The promises: every answer is 2xx or 4xx (never 5xx, never a
 * dropped connection), the process lives, and no order reaches the broker for a signal the inbox
 * did not accept with 202.
 */

const SECRET = 'api-fuzz-inbox-secret-0123';
const ADMIN_TOKEN = 'api-fuzz-admin-token-0123';

export interface ApiFuzzReport {
  requests: number;
  inbox: number;
  admin: number;
  byStatus: Record<string, number>;
  accepted: number;
  ordersAtBroker: number;
  elapsedMs: number;
  problems: string[];
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  kind: 'inbox' | 'admin';
  /** The id of a signal that was signed correctly, for accounting. */
  signalId?: string;
}

let idCounter = 0;
const freshId = () => `fz-${Date.now().toString(36)}-${++idCounter}`;

const anyValue = fc.oneof(
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
);
/** A field that is usually right, sometimes any value, sometimes absent. */
const field = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 6, arbitrary: good },
    { weight: 2, arbitrary: anyValue },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

const signalObject = fc.record({
  id: fc.oneof(
    { weight: 8, arbitrary: fc.constant('FRESH') },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{0,70}$/) },
    { weight: 1, arbitrary: anyValue },
  ),
  instrument: field(
    fc.constantFrom('EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD', 'E', 'x'.repeat(33), 'EUR/USD', ''),
  ),
  side: field(fc.constantFrom('buy', 'sell', 'close', 'BUY', 'hold', '')),
  volume: field(
    fc.oneof(fc.double({ min: 0.01, max: 2, noNaN: true }), fc.constantFrom(0, -1, 101, 1e308, 5e-324)),
  ),
  sl: fc.option(field(fc.double({ min: -1, max: 2, noNaN: true })), { nil: undefined }),
  tp: fc.option(field(fc.double({ min: -1, max: 2, noNaN: true })), { nil: undefined }),
  created_at: fc.option(
    field(
      fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.constantFrom('yesterday', '2026-13-45T99:00:00Z'),
      ),
    ),
    { nil: undefined },
  ),
  extra: fc.option(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), anyValue), { nil: undefined }),
});

/** A signal every rule accepts, so a good share of requests goes all the way to the broker. */
const cleanSignal = fc.record({
  id: fc.constant('FRESH'),
  instrument: fc.constantFrom('EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'),
  side: fc.constantFrom('buy', 'sell', 'buy', 'sell', 'close'),
  volume: fc.double({ min: 0.01, max: 1, noNaN: true }),
  sl: fc.option(fc.double({ min: 0.5, max: 2, noNaN: true }), { nil: undefined }),
  tp: fc.option(fc.double({ min: 0.5, max: 2, noNaN: true }), { nil: undefined }),
  created_at: fc.option(
    fc.integer({ min: 0, max: 60_000 }).map((ago) => new Date(Date.now() - ago).toISOString()),
    { nil: undefined },
  ),
  extra: fc.constant(undefined),
});

const inboxBody = fc.oneof(
  { weight: 10, arbitrary: cleanSignal.map((s) => ({ kind: 'signal' as const, s })) },
  { weight: 10, arbitrary: signalObject.map((s) => ({ kind: 'signal' as const, s })) },
  { weight: 2, arbitrary: fc.json().map((text) => ({ kind: 'text' as const, text })) },
  {
    weight: 2,
    arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((text) => ({ kind: 'text' as const, text })),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'bytes' as const, bytes })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 16 * 1024 - 50, max: 40 * 1024 })
      .map((n) => ({ kind: 'text' as const, text: `{"id":"${'a'.repeat(n)}"}` })),
  },
);

const signing = fc.constantFrom(
  'valid',
  'valid',
  'valid',
  'valid',
  'valid',
  'valid',
  'wrong_secret',
  'garbage',
  'missing_signature',
  'missing_timestamp',
  'stale',
  'future',
  'non_numeric_ts',
  'uppercase',
  'other_body',
  'array_header',
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json',
  'text/plain',
  '',
  'application/json; charset=utf-16',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
);
const headerText = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);

const inboxRequest: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    inboxBody,
    signing,
    contentType,
    fc.oneof(
      { weight: 12, arbitrary: fc.constant('POST') },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE') },
    ),
    fc.option(
      fc.tuple(
        fc.constantFrom('content-encoding', 'x-forwarded-for', 'transfer-encoding-x', 'x-timestamp-2'),
        headerText,
      ),
      { nil: undefined },
    ),
  )
  .map(([body, sign, type, method, extra]) => {
    let signalId: string | undefined;
    let payload: string | Uint8Array;
    if (body.kind === 'signal') {
      const s: Record<string, unknown> = { ...body.s };
      if (s.id === 'FRESH') s.id = freshId();
      const extraField = s.extra as [string, unknown] | undefined;
      delete s.extra;
      if (extraField !== undefined) s[extraField[0]] = extraField[1];
      for (const key of Object.keys(s)) if (s[key] === undefined) delete s[key];
      if (typeof s.id === 'string') signalId = s.id;
      payload = JSON.stringify(s);
    } else payload = body.kind === 'bytes' ? body.bytes : body.text;
    const raw = typeof payload === 'string' ? payload : Buffer.from(payload).toString('latin1');
    const now = Date.now();
    let ts = String(now);
    let signature = signInboxRequest(SECRET, ts, raw);
    switch (sign) {
      case 'wrong_secret':
        signature = signInboxRequest(`${SECRET}-other`, ts, raw);
        break;
      case 'garbage':
        signature = 'zz'.repeat(32);
        break;
      case 'stale':
        ts = String(now - 10 * 60_000);
        signature = signInboxRequest(SECRET, ts, raw);
        break;
      case 'future':
        ts = String(now + 10 * 60_000);
        signature = signInboxRequest(SECRET, ts, raw);
        break;
      case 'non_numeric_ts':
        ts = `${now}abc`;
        signature = signInboxRequest(SECRET, ts, raw);
        break;
      case 'uppercase':
        signature = signature.toUpperCase();
        break;
      case 'other_body':
        signature = signInboxRequest(SECRET, ts, `${raw} `);
        break;
      default:
        break;
    }
    const headers: Record<string, string> = {};
    if (type !== '') headers['content-type'] = type;
    if (sign !== 'missing_timestamp') headers['x-timestamp'] = ts;
    if (sign !== 'missing_signature')
      headers['x-signature'] = sign === 'array_header' ? `${signature}, ${signature}` : signature;
    if (extra !== undefined) headers[extra[0]] = extra[1];
    // Only a body the service could execute is counted as one it may accept.
    const valid = sign === 'valid' || sign === 'uppercase';
    return {
      method,
      path: '/api/v1/signals',
      headers,
      body: method === 'GET' ? undefined : payload,
      kind: 'inbox' as const,
      ...(valid && signalId ? { signalId } : {}),
    };
  });

const adminPath = fc.oneof(
  fc.constantFrom(
    '/api/v1/status',
    '/api/v1/halt',
    '/api/v1/resume',
    '/api/v1/positions',
    '/api/v1/analytics',
    '/api/v1/signals/pending',
    '/api/v1/debug/block-event-loop',
    '/api/v1/debug/stall-loop',
    '/metrics',
    '/api/v1',
  ),
  fc.string({ maxLength: 20 }).map((q) => `/api/v1/events?limit=${encodeURIComponent(q)}`),
  fc.constantFrom('1', '0', '-5', '1e3', '99999', '2.5', '').map((q) => `/api/v1/events?limit=${q}`),
  fc
    .tuple(fc.string({ maxLength: 30 }), fc.constantFrom('approve', 'reject'))
    .map(([id, what]) => `/api/v1/signals/${encodeURIComponent(id)}/${what}`),
  fc.string({ maxLength: 30 }).map((p) => `/api/v1/${encodeURIComponent(p)}`),
);
const adminRequest: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.constantFrom('GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'),
    adminPath,
    fc.constantFrom(
      'valid',
      'valid',
      'valid',
      'missing',
      'wrong',
      'empty_bearer',
      'basic',
      'lowercase_scheme',
    ),
    fc.oneof(
      fc.constant(undefined),
      fc.json(),
      fc.string({ maxLength: 100 }),
      fc
        .record({ reason: field(fc.string({ maxLength: 600 })), by: field(fc.string()) })
        .map((o) => JSON.stringify(o)),
      fc
        .record({ reviewed_by: field(fc.string({ maxLength: 120 })), note: field(fc.string()) })
        .map((o) => JSON.stringify(o)),
      fc.record({ ms: field(fc.integer()) }).map((o) => JSON.stringify(o)),
    ),
    contentType,
  )
  .map(([method, path, auth, body, type]) => {
    const headers: Record<string, string> = {};
    if (type !== '') headers['content-type'] = type;
    if (auth === 'valid') headers.authorization = `Bearer ${ADMIN_TOKEN}`;
    if (auth === 'wrong') headers.authorization = `Bearer ${ADMIN_TOKEN}x`;
    if (auth === 'empty_bearer') headers.authorization = 'Bearer ';
    if (auth === 'basic')
      headers.authorization = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`;
    if (auth === 'lowercase_scheme') headers.authorization = `bearer ${ADMIN_TOKEN}`;
    return {
      method,
      path,
      headers,
      body: method === 'GET' || method === 'HEAD' ? undefined : body,
      kind: 'admin' as const,
    };
  });

export async function runApiFuzz(options: { runs: number; seed: number }): Promise<ApiFuzzReport> {
  const started = Date.now();
  const bridge = await startFakeMt5Bridge({ balance: 1_000_000 });
  const t = await startTestApp({
    ...bridge.serviceEnv(),
    SIGNALS_HMAC_SECRET: SECRET,
    ADMIN_TOKEN,
    MAX_ORDERS_PER_SECOND: '100000',
    MAX_VOLUME: '100',
  });
  const report: ApiFuzzReport = {
    requests: 0,
    inbox: 0,
    admin: 0,
    byStatus: {},
    accepted: 0,
    ordersAtBroker: 0,
    elapsedMs: 0,
    problems: [],
  };
  const accepted = new Set<string>();
  try {
    await fc
      .assert(
        fc.asyncProperty(
          fc.oneof({ weight: 3, arbitrary: inboxRequest }, { weight: 1, arbitrary: adminRequest }),
          async (req) => {
            report.requests++;
            report[req.kind]++;
            let status: number;
            let text = '';
            try {
              const response = await fetch(`${t.baseUrl}${req.path}`, {
                method: req.method,
                headers: req.headers,
                body: req.body,
                signal: AbortSignal.timeout(10_000),
              });
              status = response.status;
              text = await response.text();
            } catch (error) {
              report.problems.push(`${req.method} ${req.path}: no answer (${String(error)})`);
              return false;
            }
            report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
            if (status === 202 && req.kind === 'inbox') {
              if (req.signalId === undefined)
                report.problems.push(`202 for a request the fuzzer did not sign validly: ${text}`);
              else accepted.add(req.signalId);
            }
            if (status >= 500 || status < 200 || (status >= 300 && status < 400)) {
              report.problems.push(`${req.method} ${req.path} answered ${status}: ${text.slice(0, 200)}`);
              return false;
            }
            // A halt from the fuzzer is fine, but a halted app refuses everything: resume now and then.
            if (report.requests % 50 === 0 && t.account().guard.isHalted())
              await t.admin('POST', '/api/v1/resume', { reviewed_by: 'fuzz', note: 'keep fuzzing' });
            return true;
          },
        ),
        { numRuns: options.runs, seed: options.seed, endOnFailure: true },
      )
      .catch((error: unknown) => report.problems.push(String(error).slice(0, 2000)));

    // Every accepted signal ends; every order the broker saw belongs to one of them.
    report.accepted = accepted.size;
    const ended = () =>
      new Set(
        t.events
          .filter(
            (e) =>
              e.type === 'trade_executed' ||
              e.type === 'trade_failed' ||
              e.type === 'signal_rejected' ||
              // A `close` signal that closed everything ends with positions_closed (failures add trade_failed).
              (e.type === 'positions_closed' && e.payload.failed === 0),
          )
          .map((e) => (e.payload as { signal_id: string }).signal_id),
      );
    // Not met in time is a finding, reported below, not a failed wait.
    await t
      .waitForState(
        () => ([...accepted].every((id) => ended().has(id)) ? true : undefined),
        'every accepted signal to end',
        30_000,
      )
      .catch(() => undefined);
    for (const id of accepted)
      if (!ended().has(id)) report.problems.push(`accepted signal ${id} never ended`);
    const allowed = new Set([...accepted].map((id) => openRequestId(id)));
    const orders = bridge.requestsTo('POST', '/v1/orders');
    report.ordersAtBroker = new Set(orders.map((r) => r.idempotencyKey)).size;
    for (const order of orders)
      if (!allowed.has(order.idempotencyKey ?? ''))
        report.problems.push(`an order reached the broker for a signal that was not accepted: ${order.body}`);
    // Still alive and answering.
    const status = await t.admin('GET', '/api/v1/status');
    if (status.status !== 200) report.problems.push(`status after fuzzing: ${status.status}`);
    report.elapsedMs = Date.now() - started;
    return report;
  } finally {
    await t.close();
    await bridge.close();
  }
}
