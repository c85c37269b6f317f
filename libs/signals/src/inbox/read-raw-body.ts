import type { IncomingMessage } from 'node:http';

export type RawBodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too_large' | 'aborted' };

/**
 * Read a request body as bytes (the signature covers the exact bytes), refusing more than
 * `limit` bytes without buffering them: a declared Content-Length over the limit is refused at
 * once, a stream that runs over is cut off.
 */
export function readRawBody(request: IncomingMessage, limit: number): Promise<RawBodyResult> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume(); // drain, so the connection can carry the 413
    return Promise.resolve({ ok: false, reason: 'too_large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: RawBodyResult) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    request.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        request.resume();
        finish({ ok: false, reason: 'too_large' });
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => finish({ ok: true, body: Buffer.concat(chunks, size) }));
    request.on('error', () => finish({ ok: false, reason: 'aborted' }));
    request.on('aborted', () => finish({ ok: false, reason: 'aborted' }));
  });
}
