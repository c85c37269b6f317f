/**
 * JSON text that PostgreSQL's `jsonb` takes. It refuses the NUL character (`\u0000`), which a
 * bridge's error text, a typed halt reason or a signal field may carry: refused, the write would
 * fail (a halt latch not made durable, a batch of history retried for ever). Each NUL becomes
 * U+FFFD; the JSON stays valid and every other character is kept.
 */
export function jsonbText(value: unknown): string {
  // An escape `\u0000` preceded by an even number of backslashes is a NUL (an odd number means
  // the text itself held a backslash followed by `u0000`, which is kept).
  return JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd');
}
