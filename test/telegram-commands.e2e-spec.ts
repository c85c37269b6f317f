import { startFakeTelegram, type FakeTelegram } from './fakes/fake-telegram';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

const SECRET = 'inbox-secret-for-telegram-commands';
const ALLOWED = 111;
const STRANGER = 222;

/** Bot commands and approval buttons over long polling against a fake Bot API. */
describe('telegram bot commands', () => {
  let telegram: FakeTelegram;
  let t: TestApp;

  const start = async (env: Record<string, string> = {}) => {
    t = await startTestApp({
      ...telegram.env,
      TELEGRAM_ALLOWED_USER_IDS: String(ALLOWED),
      SIGNALS_HMAC_SECRET: SECRET,
      ...env,
    });
  };
  /**
   * Until the bot has taken every injected update off the fake and handled it: telegraf asks for
   * updates past them only once its handlers for them returned, replies and button answers sent.
   */
  const handled = async () => {
    await telegram.waitForUpdatesConsumed(10_000);
    expect(telegram.updatesConsumed).toBe(true);
  };

  beforeEach(async () => {
    telegram = await startFakeTelegram();
  });
  afterEach(async () => {
    await t?.close();
    await telegram.close();
  });

  it('obeys /halt and /status from an allowed user', async () => {
    await start();
    telegram.sendText(ALLOWED, '/halt x');
    const halted = await t.waitForEvent('halted');
    expect(halted.payload).toMatchObject({
      source: 'manual',
      reason: `x (by telegram:@user${ALLOWED}(${ALLOWED}))`,
    });
    await telegram.waitForMessage((m) => m.text.startsWith('Halting: x'));

    telegram.sendText(ALLOWED, '/status');
    const status = await telegram.waitForMessage((m) => m.text.startsWith('State:'));
    expect(status.text).toMatch(/^State: halted \(loop test-loop\)/);
    expect(status.text).toContain('(manual): x');

    telegram.sendText(ALLOWED, '/resume checked the news');
    const resumed = await t.waitForEvent('resumed');
    expect(resumed.payload).toMatchObject({
      reviewed_by: `telegram:@user${ALLOWED}(${ALLOWED})`,
      note: 'checked the news',
    });
    expect((await t.admin('GET', '/api/v1/status')).body.state).toBe('running');
  });

  it('ignores the same commands from a user who is not allowed: no halt, no resume, no answer', async () => {
    await start();
    telegram.sendText(STRANGER, '/halt x');
    telegram.sendText(STRANGER, '/status');
    await handled();
    expect(t.eventsOf('halted')).toHaveLength(0);
    expect((await t.admin('GET', '/api/v1/status')).body.state).toBe('running');
    expect(telegram.messages).toHaveLength(0);

    expect((await t.admin('POST', '/api/v1/halt', { reason: 'by api' })).status).toBe(200);
    telegram.sendText(STRANGER, '/resume let me in');
    await handled();
    expect(t.eventsOf('resumed')).toHaveLength(0);
    expect((await t.admin('GET', '/api/v1/status')).body.state).toBe('halted');
  });

  it('posts each pending signal with Approve/Reject buttons; a press from an allowed user approves it, a stranger’s does nothing', async () => {
    await start({ APPROVAL_MODE: 'manual' });
    const body = signalBody();
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    const posted = await telegram.waitForMessage((m) =>
      m.text.startsWith(`Signal ${String(body.id)} waits for approval`),
    );
    const [approve, reject] = posted.reply_markup!.inline_keyboard[0];
    expect([approve.text, reject.text]).toEqual(['Approve', 'Reject']);

    telegram.pressButton(STRANGER, approve.callback_data, posted.message_id);
    await handled();
    expect(t.eventsOf('signal_approved')).toHaveLength(0);
    expect(telegram.callsTo('answerCallbackQuery')).toHaveLength(0);

    telegram.pressButton(ALLOWED, approve.callback_data, posted.message_id);
    const approved = await t.waitForEvent('signal_approved', (e) => e.payload.signal_id === body.id);
    expect(approved.payload.approved_by).toBe(`telegram:@user${ALLOWED}(${ALLOWED})`);
    expect(approved.payload.approval_time_ms).toBeGreaterThan(0);
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === body.id);
    await handled();
    expect(telegram.callsTo('answerCallbackQuery')).toHaveLength(1);
    expect(telegram.callsTo('editMessageReplyMarkup')).toHaveLength(1);
  });

  it('survives a Bot API that answers 429 and resets connections while polling, and obeys commands afterwards', async () => {
    // launch() rejects on these (getMe 429, then deleteWebhook 500); getUpdates 429 is telegraf's own wait.
    telegram.failNextCalls('getMe', { kind: '429', retryAfter: 1 }, 1);
    telegram.failNextCalls('deleteWebhook', { kind: '500' }, 1);
    telegram.failNextCalls('getUpdates', { kind: '429', retryAfter: 1 }, 1);
    await start();
    await waitUntil(() => telegram.callsTo('getMe').length > 0, { what: 'the first getMe (429)' });
    telegram.setDown(true); // and then connections reset
    await waitUntil(() => telegram.resetsWhileDown > 0, {
      what: 'the bot to call the Bot API while it is down',
      timeoutMs: 5_000,
    });
    telegram.setDown(false);
    telegram.sendText(ALLOWED, '/status');
    await telegram.waitForMessage((m) => m.text.startsWith('State: running'), 15_000);
    expect(telegram.callsTo('getMe').filter((c) => c.status === 429)).toHaveLength(1);
    expect(telegram.callsTo('deleteWebhook').filter((c) => c.status === 500)).toHaveLength(1);
    expect(telegram.callsTo('getUpdates').filter((c) => c.status === 429)).toHaveLength(1);
  }, 30_000);
});
