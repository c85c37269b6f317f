import type { IncomingMessage } from 'node:http';

/** The dashboard's bodies are a token or a note: 16 KiB is plenty, as for the API's JSON. */
const MAX_BODY_BYTES = 16 * 1024;

export type BodyResult =
  { ok: true; fields: Record<string, unknown> } | { ok: false; reason: 'too_large' | 'invalid_body' };

/** Reads a JSON or form-encoded body (the sign-in form posts the latter), bounded in size. */
export async function readSmallBody(req: IncomingMessage): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { ok: false, reason: 'too_large' };
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded')
    return { ok: true, fields: Object.fromEntries(new URLSearchParams(text)) };
  if (text.trim() === '') return { ok: true, fields: {} };
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return { ok: false, reason: 'invalid_body' };
    return { ok: true, fields: parsed as Record<string, unknown> };
  } catch {
    return { ok: false, reason: 'invalid_body' };
  }
}
