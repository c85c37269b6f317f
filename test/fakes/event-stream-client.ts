import { get, type ClientRequest } from 'node:http';
import { waitForMatch } from '../support/wait-for-match';

export interface StreamMessage {
  event: string;
  data: Record<string, unknown>;
}

export interface EventStreamClient {
  status: number;
  contentType: string | undefined;
  messages: StreamMessage[];
  /** Comment lines (keep-alives) seen. */
  comments: number;
  closed: boolean;
  /** Resolves once `predicate` holds for the messages so far, checked on every message that comes. */
  waitFor(predicate: (m: StreamMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves once `count` comment lines (keep-alives) have come. */
  waitForComments(count: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Connects to an SSE endpoint with node:http and parses `event:`/`data:` messages as they come. */
export function connectEventStream(url: string, token: string): Promise<EventStreamClient> {
  return new Promise((resolve, reject) => {
    let request: ClientRequest | undefined = undefined;
    request = get(
      url,
      { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } },
      (res) => {
        let buffer = '';
        const waiters = new Set<() => void>();
        const client: EventStreamClient = {
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          messages: [],
          comments: 0,
          closed: false,
          waitFor: async (predicate, timeoutMs = 5_000) => {
            await waitForMatch(
              () => (predicate(client.messages) ? true : undefined),
              waiters,
              timeoutMs,
              () =>
                `event stream: condition not met in ${timeoutMs} ms; got ${client.messages.map((m) => m.event).join(', ')}`,
            );
          },
          waitForComments: async (count, timeoutMs = 5_000) => {
            await waitForMatch(
              () => (client.comments >= count ? true : undefined),
              waiters,
              timeoutMs,
              () => `event stream: ${client.comments} of ${count} comment lines in ${timeoutMs} ms`,
            );
          },
          close: () => request?.destroy(),
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) client.comments += 1;
              else if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length > 0)
              client.messages.push({ event, data: JSON.parse(data.join('\n')) as Record<string, unknown> });
          }
          for (const waiter of waiters) waiter();
        });
        res.on('close', () => (client.closed = true));
        resolve(client);
      },
    );
    request.on('error', reject);
  });
}
