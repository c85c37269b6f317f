import { ManualClock } from '@app/core';
import { SystemScheduler } from '@app/common';
import type { AlertDrop } from '../alert-drops';
import { AlertDrops } from '../alert-drops';
import type { SendFailure } from './send-failure';
import { TelegramAlertChannel, type TelegramChannelOptions } from './telegram-alert-channel';
import type { OutgoingMessage, TelegramMessageSender } from './telegram-message-sender';

/** A scripted sender: each call takes the next scripted outcome (success once the script runs out). */
class ScriptedSender implements TelegramMessageSender {
  readonly attempts: { text: string; at: number }[] = [];
  readonly delivered: string[] = [];
  script: (SendFailure | 'hang')[] = [];

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendFailure | undefined> {
    this.attempts.push({ text: message.text, at: performance.now() });
    const next = this.script.shift();
    if (next === 'hang') {
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      return { kind: 'network', message: 'AbortError' };
    }
    if (next !== undefined) return next;
    this.delivered.push(message.text);
    return undefined;
  }
}

const options: TelegramChannelOptions = {
  chatId: '42',
  queueCapacity: 3,
  coalesceWindowMs: 10_000,
  requestTimeoutMs: 200,
  retry: { baseDelayMs: 10, maxDelayMs: 50 },
};

describe('TelegramAlertChannel', () => {
  let sender: ScriptedSender;
  let clock: ManualClock;
  let drops: AlertDrop[];
  let channel: TelegramAlertChannel;

  beforeEach(() => {
    sender = new ScriptedSender();
    clock = new ManualClock();
    drops = [];
    const recorder = new AlertDrops();
    jest.spyOn(recorder['logger'], 'error').mockImplementation(() => undefined);
    recorder.subscribe((drop) => drops.push(drop));
    channel = new TelegramAlertChannel(options, sender, clock, recorder, new SystemScheduler());
    jest.spyOn(channel['logger'], 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => channel.close());

  it('returns at once while Telegram hangs, and sends once the call times out and is retried', async () => {
    sender.script = ['hang'];
    const started = performance.now();
    await channel.deliver({ kind: 'halt', text: 'Trading halted' });
    expect(performance.now() - started).toBeLessThan(20);
    await channel.flush(2000);
    expect(sender.attempts).toHaveLength(2);
    expect(sender.attempts[1].at - sender.attempts[0].at).toBeGreaterThanOrEqual(200); // the per-request timeout
    expect(sender.delivered).toEqual(['Trading halted']);
  });

  it('waits what a 429 asks before retrying, and keeps the order of alerts', async () => {
    sender.script = [{ kind: 'api', code: 429, description: 'Too Many Requests', retryAfterSeconds: 0.15 }];
    await channel.deliver({ kind: 'halt', text: 'first' });
    await channel.deliver({ kind: 'resume', text: 'second' });
    await channel.flush(2000);
    expect(sender.delivered).toEqual(['first', 'second']);
    expect(sender.attempts[1].at - sender.attempts[0].at).toBeGreaterThanOrEqual(145);
    expect(drops).toEqual([]);
  });

  it('retries 5xx and network errors until they succeed', async () => {
    sender.script = [
      { kind: 'api', code: 502, description: 'Bad Gateway' },
      { kind: 'network', message: 'ECONNRESET' },
      { kind: 'api', code: 500, description: 'Internal Server Error' },
    ];
    await channel.deliver({ kind: 'info', text: 'x' });
    await channel.flush(2000);
    expect(sender.attempts).toHaveLength(4);
    expect(sender.delivered).toEqual(['x']);
  });

  it('drops and reports a message Telegram refuses for good, then goes on', async () => {
    sender.script = [{ kind: 'api', code: 400, description: 'Bad Request: chat not found' }];
    await channel.deliver({ kind: 'info', text: 'refused' });
    await channel.deliver({ kind: 'info', text: 'next' });
    await channel.flush(2000);
    expect(drops.map((d) => [d.reason, d.alert.text])).toEqual([['refused', 'refused']]);
    expect(sender.delivered).toEqual(['next']);
  });

  it('drops the oldest waiting alert on overflow, counts it, and sends the rest', async () => {
    sender.script = ['hang'];
    for (const text of ['a', 'b', 'c', 'd', 'e']) await channel.deliver({ kind: 'info', text });
    // 'a' is in flight; b..e compete for 3 places: b is evicted.
    expect(drops.map((d) => [d.reason, d.alert.text])).toEqual([['queue_overflow', 'b']]);
    await channel.flush(2000);
    expect(sender.delivered).toEqual(['a', 'c', 'd', 'e']);
  });

  it('sends an identical alert once within the window, and again after it', async () => {
    await channel.deliver({ kind: 'drawdown_warning', text: 'warn' });
    clock.advance(5_000);
    await channel.deliver({ kind: 'drawdown_warning', text: 'warn' });
    clock.advance(5_000);
    await channel.deliver({ kind: 'drawdown_warning', text: 'warn' });
    await channel.flush(2000);
    expect(sender.delivered).toEqual(['warn', 'warn']);
  });

  it('on close, aborts the call in flight and reports everything unsent as dropped at shutdown', async () => {
    sender.script = ['hang'];
    await channel.deliver({ kind: 'info', text: 'in flight' });
    await channel.deliver({ kind: 'info', text: 'waiting' });
    channel.close();
    await channel.flush(1000);
    expect(drops.map((d) => [d.reason, d.alert.text])).toEqual([
      ['shutdown', 'in flight'],
      ['shutdown', 'waiting'],
    ]);
    expect(sender.delivered).toEqual([]);
  });
});
