import { signInboxRequest } from '@app/core';

/** Headers for a correctly signed inbox request, as a real signal sender would make them. */
export function signedHeaders(secret: string, body: string, timestamp = Date.now()): Record<string, string> {
  const ts = String(timestamp);
  return {
    'content-type': 'application/json',
    'x-timestamp': ts,
    'x-signature': signInboxRequest(secret, ts, body),
  };
}

let counter = 0;
/** A valid signal body with a fresh id. */
export function signalBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return {
    id: `sig-${process.pid}-${Date.now().toString(36)}-${counter}`,
    instrument: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    ...overrides,
  };
}

/** POST a signed signal; returns status and body. */
export async function postSignal(
  baseUrl: string,
  secret: string,
  body: Record<string, unknown> | string,
  headers: Record<string, string> = {},
) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(`${baseUrl}/api/v1/signals`, {
    method: 'POST',
    headers: { ...signedHeaders(secret, text), ...headers },
    body: text,
  });
  const answer = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  return { status: response.status, body: answer };
}
