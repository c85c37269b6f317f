import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { waitForMatch } from '../support/wait-for-match';

/**
 * A fake Telegram Bot API: a real HTTP server on 127.0.0.1 answering `POST /bot<TOKEN>/<method>`,
 * so the real telegraf code (and the watchdog worker's own fetch) runs in tests. It records
 * every call and every delivered message, serves injected updates (commands, button presses) to
 * long polling, and injects faults: 429 with retry_after, 5xx, or down entirely (connections reset).
 */

export interface SentMessage {
  chat_id: string;
  text: string;
  reply_markup?: { inline_keyboard: { text: string; callback_data: string }[][] };
  message_id: number;
  /** Date.now() when the fake received it (the test process's clock). */
  receivedAt: number;
}

export interface ApiCall {
  method: string;
  body: Record<string, unknown>;
  status: number;
  receivedAt: number;
}

export type TelegramFault = { kind: '429'; retryAfter: number } | { kind: '500' };

export interface FakeTelegram {
  /** TELEGRAM_API_ROOT for the service. */
  readonly url: string;
  readonly token: string;
  readonly chatId: string;
  /** The env that points the service at this fake. */
  readonly env: Record<string, string>;
  /** Messages answered `ok` (retried ones appear once, when they finally succeed). */
  readonly messages: SentMessage[];
  readonly calls: ApiCall[];
  callsTo(method: string): ApiCall[];
  /** The next `times` sendMessage calls get this fault. */
  failNextSends(fault: TelegramFault, times: number): void;
  /** The next `times` calls of `method` (getMe, getUpdates, ...) get this fault. */
  failNextCalls(method: string, fault: TelegramFault, times: number): void;
  /** Down: every connection is reset before an answer. */
  setDown(down: boolean): void;
  /** Requests reset because the fake was down (each one a call the bot made and saw fail). */
  readonly resetsWhileDown: number;
  /** A text message (a command when it starts with `/`) from user `fromId`. */
  sendText(fromId: number, text: string): number;
  /** A press of an inline button with `data` on message `messageId`. */
  pressButton(fromId: number, data: string, messageId?: number): string;
  /**
   * True once the bot has asked getUpdates for an offset past every injected update. telegraf
   * asks for the next updates only after its handlers for the previous ones returned, so by then
   * every reply or button answer of those handlers has reached the fake.
   */
  readonly updatesConsumed: boolean;
  waitForUpdatesConsumed(timeoutMs?: number): Promise<void>;
  waitForMessage(predicate: (m: SentMessage) => boolean, timeoutMs?: number): Promise<SentMessage>;
  close(): Promise<void>;
}

interface PendingPoll {
  res: ServerResponse;
  offset: number;
  timer: NodeJS.Timeout;
}

export async function startFakeTelegram(
  options: { token?: string; chatId?: string; pollHoldMs?: number } = {},
): Promise<FakeTelegram> {
  const token = options.token ?? '123456:TEST-token_abc';
  const chatId = options.chatId ?? '-1001234567';
  const pollHoldMs = options.pollHoldMs ?? 500;
  const messages: SentMessage[] = [];
  const calls: ApiCall[] = [];
  const updates: { update_id: number; [key: string]: unknown }[] = [];
  const polls = new Set<PendingPoll>();
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  let faults: { method: string; fault: TelegramFault; times: number }[] = [];
  let down = false;
  let resetsWhileDown = 0;
  let nextUpdateId = 1;
  let nextMessageId = 1;
  let highestOffsetSeen = 0;

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
  const pendingFor = (offset: number) => updates.filter((u) => u.update_id >= offset);
  const answerPolls = () => {
    for (const poll of polls) {
      const ready = pendingFor(poll.offset);
      if (ready.length === 0) continue;
      clearTimeout(poll.timer);
      polls.delete(poll);
      json(poll.res, 200, { ok: true, result: ready });
    }
  };
  const chat = { id: Number(chatId), type: 'supergroup', title: 'ops' };
  const user = (id: number) => ({ id, is_bot: false, first_name: `user${id}`, username: `user${id}` });

  const handle = (method: string, body: Record<string, unknown>, res: ServerResponse): number => {
    const fault = faults.find((f) => f.method === method);
    if (fault !== undefined) {
      fault.times--;
      if (fault.times <= 0) faults = faults.filter((f) => f !== fault);
      if (fault.fault.kind === '429') {
        json(res, 429, {
          ok: false,
          error_code: 429,
          description: `Too Many Requests: retry after ${fault.fault.retryAfter}`,
          parameters: { retry_after: fault.fault.retryAfter },
        });
        return 429;
      }
      json(res, 500, { ok: false, error_code: 500, description: 'Internal Server Error' });
      return 500;
    }
    switch (method) {
      case 'getMe':
        json(res, 200, {
          ok: true,
          result: { id: 999, is_bot: true, first_name: 'Fake', username: 'fake_trading_bot' },
        });
        return 200;
      case 'deleteWebhook':
      case 'answerCallbackQuery':
      case 'editMessageReplyMarkup':
        json(res, 200, { ok: true, result: true });
        return 200;
      case 'getUpdates': {
        const offset = typeof body.offset === 'number' ? body.offset : 0;
        highestOffsetSeen = Math.max(highestOffsetSeen, offset);
        for (const waiter of waiters) waiter();
        const ready = pendingFor(offset);
        const holdSeconds = typeof body.timeout === 'number' ? body.timeout : 0;
        if (ready.length > 0 || holdSeconds === 0) {
          json(res, 200, {
            ok: true,
            result: ready.slice(0, typeof body.limit === 'number' ? body.limit : 100),
          });
          return 200;
        }
        // Long polling: hold the request until an update arrives (or a short while, so tests stay quick).
        const poll: PendingPoll = {
          res,
          offset,
          timer: setTimeout(
            () => {
              polls.delete(poll);
              json(res, 200, { ok: true, result: [] });
            },
            Math.min(holdSeconds * 1000, pollHoldMs),
          ),
        };
        polls.add(poll);
        return 200;
      }
      case 'sendMessage': {
        const message: SentMessage = {
          chat_id: String(body.chat_id),
          text: String(body.text),
          ...(body.reply_markup === undefined
            ? {}
            : { reply_markup: body.reply_markup as SentMessage['reply_markup'] }),
          message_id: nextMessageId++,
          receivedAt: Date.now(),
        };
        messages.push(message);
        for (const waiter of waiters) waiter();
        json(res, 200, {
          ok: true,
          result: {
            message_id: message.message_id,
            date: Math.floor(Date.now() / 1000),
            chat,
            text: message.text,
          },
        });
        return 200;
      }
      default:
        json(res, 404, {
          ok: false,
          error_code: 404,
          description: `Not Found: method ${method} is not faked`,
        });
        return 404;
    }
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (down) {
      resetsWhileDown++;
      req.socket.destroy();
      for (const waiter of waiters) waiter();
      return;
    }
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? '');
      const receivedAt = Date.now();
      if (match === null || match[1] !== token) {
        json(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
        return;
      }
      let body: Record<string, unknown> = {};
      try {
        body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
      } catch {
        json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: body is not JSON' });
        return;
      }
      const status = handle(match[2], body, res);
      calls.push({ method: match[2], body, status, receivedAt });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const updatesConsumed = () => updates.every((u) => u.update_id < highestOffsetSeen);
  const inject = (update: Record<string, unknown>) => {
    const id = nextUpdateId++;
    updates.push({ update_id: id, ...update });
    answerPolls();
    return id;
  };

  return {
    url,
    token,
    chatId,
    env: { TELEGRAM_BOT_TOKEN: token, TELEGRAM_CHAT_ID: chatId, TELEGRAM_API_ROOT: url },
    messages,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    failNextSends: (fault, times) => {
      faults.push({ method: 'sendMessage', fault, times });
    },
    failNextCalls: (method, fault, times) => {
      faults.push({ method, fault, times });
    },
    setDown: (value) => {
      down = value;
      if (value) for (const socket of sockets) socket.destroy();
    },
    sendText: (fromId, text) => {
      const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
      return inject({
        message: {
          message_id: nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat,
          from: user(fromId),
          text,
          ...(command === null
            ? {}
            : { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] }),
        },
      });
    },
    pressButton: (fromId, data, messageId) => {
      const id = `cbq-${nextUpdateId}`;
      inject({
        callback_query: {
          id,
          from: user(fromId),
          chat_instance: 'ci-1',
          data,
          message: {
            message_id: messageId ?? 1,
            date: Math.floor(Date.now() / 1000),
            chat,
            text: 'approval',
          },
        },
      });
      return id;
    },
    get resetsWhileDown() {
      return resetsWhileDown;
    },
    get updatesConsumed() {
      return updatesConsumed();
    },
    waitForUpdatesConsumed: async (timeoutMs = 10_000) => {
      await waitForMatch(
        () => (updatesConsumed() ? true : undefined),
        waiters,
        timeoutMs,
        () =>
          `the bot did not take every update within ${timeoutMs} ms (updates up to ${nextUpdateId - 1}, highest offset asked ${highestOffsetSeen})`,
      );
    },
    waitForMessage: (predicate, timeoutMs = 10_000) =>
      waitForMatch(
        () => messages.find(predicate),
        waiters,
        timeoutMs,
        () =>
          `no matching Telegram message within ${timeoutMs} ms; got:\n${messages.map((m) => m.text.split('\n')[0]).join('\n')}`,
      ),
    close: async () => {
      for (const poll of polls) clearTimeout(poll.timer);
      polls.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
