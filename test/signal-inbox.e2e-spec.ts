import { AlertDispatcher, type Alert } from '@app/alerts';
import { readlinkSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { postSignal, signalBody, signedHeaders } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

/** Every inbox rule of docs/service.md against the real app on the paper account: only valid signals reach the broker. */
describe('signal inbox', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ PAPER_SEED: '7' });
  });
  afterAll(() => t.close());

  const positions = async () =>
    ((await t.admin('GET', '/api/v1/positions')).body.positions as { comment: string }[]).length;
  /**
   * The loop has taken whatever was accepted until now and recorded how it ended: a signal
   * wrongly accepted (or executed twice) would show as an event or a position by then.
   */
  const loopHadItsChance = async () => {
    await t.waitForLoopTicks(2);
    await t.waitForRecordedOutcomes();
  };

  it('accepts a signed signal, executes it once, and answers a repeat as duplicate', async () => {
    const body = signalBody({ id: 'inbox-ok-1' });
    const first = await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, body);
    expect(first).toEqual({ status: 202, body: { id: 'inbox-ok-1', status: 'accepted' } });
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === 'inbox-ok-1');
    const again = await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, body);
    expect(again).toEqual({ status: 200, body: { id: 'inbox-ok-1', status: 'duplicate' } });
    await loopHadItsChance();
    expect(t.eventsOf('trade_executed').filter((e) => e.payload.signal_id === 'inbox-ok-1')).toHaveLength(1);
  });

  it('refuses what is not signed right, and none of it reaches the broker', async () => {
    const before = await positions();
    const text = JSON.stringify(signalBody());
    const send = (headers: Record<string, string>, payload = text) =>
      fetch(`${t.baseUrl}/api/v1/signals`, { method: 'POST', headers, body: payload });

    expect((await send({ 'content-type': 'application/json' })).status).toBe(401); // unsigned
    expect((await send({ ...signedHeaders('wrong-secret-wrong-secret', text) })).status).toBe(401); // wrong key
    expect(
      (await send({ ...signedHeaders(t.secrets.signalsHmacSecret, text, Date.now() - 301_000) })).status,
    ).toBe(401); // replayed, too old
    expect(
      (await send({ ...signedHeaders(t.secrets.signalsHmacSecret, text, Date.now() + 301_000) })).status,
    ).toBe(401); // from the future
    const tampered = signedHeaders(t.secrets.signalsHmacSecret, text);
    expect((await send(tampered, text.replace('0.1', '0.2'))).status).toBe(401); // body changed after signing
    expect((await send({ ...tampered, 'x-timestamp': 'yesterday' })).status).toBe(401);

    await loopHadItsChance();
    expect(await positions()).toBe(before);
  });

  it('answers 413 for a body over 16 KiB', async () => {
    const big = JSON.stringify({ ...signalBody(), pad: 'x'.repeat(17 * 1024) });
    const response = await fetch(`${t.baseUrl}/api/v1/signals`, {
      method: 'POST',
      headers: signedHeaders(t.secrets.signalsHmacSecret, big),
      body: big,
    });
    expect(response.status).toBe(413);
  });

  it('answers 400 naming every offending field', async () => {
    const notJson = await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, '{"id": "x",');
    expect(notJson.status).toBe(400);

    const bad = await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, {
      id: 'has spaces!',
      instrument: '',
      side: 'hold',
      volume: 1000,
      sl: -1,
      created_at: 'tuesday',
      colour: 'red',
    });
    expect(bad.status).toBe(400);
    const fields = (bad.body?.errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['colour', 'created_at', 'id', 'instrument', 'side', 'sl', 'volume']);

    const wrongShape = await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, {
      id: 'bad id!',
      instrument: '',
      side: 'hold',
      volume: -1,
    });
    expect(wrongShape.status).toBe(400);
    expect((wrongShape.body?.errors as { field: string }[]).map((e) => e.field).sort()).toEqual([
      'id',
      'instrument',
      'side',
      'volume',
    ]);

    const tooBig = await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, signalBody({ volume: 101 }));
    expect(tooBig.status).toBe(400);
    expect(tooBig.body?.errors).toEqual([expect.objectContaining({ field: 'volume' })]);
    const zero = await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, signalBody({ volume: 0 }));
    expect(zero.status).toBe(400);
  });

  it('answers 423 while halted, records the signal as rejected, and a resend is a duplicate', async () => {
    const before = await positions();
    const halt = await t.admin('POST', '/api/v1/halt', { reason: 'inbox test' });
    expect(halt.status).toBe(200);
    const body = signalBody({ id: 'while-halted-1' });
    const halted = await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, body);
    expect(halted).toEqual({
      status: 423,
      body: { id: 'while-halted-1', status: 'rejected', reason: 'halted' },
    });
    expect((await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, body)).status).toBe(200);
    // The halt's close-all has made its first pass (reported) and finished, and the loop had its chance.
    await t.waitForEvent('drawdown_cap_triggered', (e) => e.payload.halt_id === halt.body?.halt?.id);
    const guard = t.account().guard;
    await waitUntil(() => !guard.snapshot().closingInProgress, { what: "the halt's close-all to finish" });
    await loopHadItsChance();
    expect(await positions()).toBe(0); // the halt closed everything and nothing new opened
    expect(before).toBeGreaterThanOrEqual(0);
    expect(
      (await t.admin('POST', '/api/v1/resume', { reviewed_by: 'tester', note: 'inbox test done' })).status,
    ).toBe(200);
  });

  it('never answers 5xx to a hostile request', async () => {
    const attempts = [
      fetch(`${t.baseUrl}/api/v1/signals`, { method: 'POST', body: '\u0000\u0001' }),
      fetch(`${t.baseUrl}/api/v1/signals`, {
        method: 'POST',
        headers: { 'x-timestamp': String(Date.now()), 'x-signature': 'zz' },
        body: 'null',
      }),
      postSignal(t.baseUrl, t.secrets.signalsHmacSecret, 'null'),
      postSignal(t.baseUrl, t.secrets.signalsHmacSecret, '[]'),
      postSignal(t.baseUrl, t.secrets.signalsHmacSecret, '"string"'),
      postSignal(t.baseUrl, t.secrets.signalsHmacSecret, '{"__proto__":{"x":1}}'),
    ];
    for (const answer of await Promise.all(attempts)) expect(answer.status).toBeLessThan(500);
  });

  it('answers 503 state_unavailable when the ledger cannot be written, alerts once, and takes the retry', async () => {
    // A real failure where it happens: fdatasync of signals.jsonl fails (EIO), the journal rolls
    // the claim back, and the claim is released.
    const ledgerPath = join(t.stateDir, 'signals.jsonl');
    const probe = await open(join(t.stateDir, 'probe'), 'a');
    const proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const realDatasync = proto.datasync;
    let failuresLeft = 2;
    const datasync = jest.spyOn(proto, 'datasync').mockImplementation(async function (this: FileHandle) {
      if (failuresLeft > 0 && readlinkSync(`/proc/self/fd/${this.fd}`) === ledgerPath) {
        failuresLeft--;
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      }
      return realDatasync.call(this);
    });
    const dispatcher = t.app.get(AlertDispatcher);
    const alerts: Alert[] = [];
    const alertSpy = jest
      .spyOn(dispatcher, 'send')
      .mockImplementation((alert: Alert) => void alerts.push(alert));
    try {
      const before = await positions();
      const ledgerBefore = await readFile(ledgerPath, 'utf8');
      const first = signalBody({ id: 'inbox-disk-fails-1' });
      const second = signalBody({ id: 'inbox-disk-fails-2' });
      expect(await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, first)).toEqual({
        status: 503,
        body: { status: 'refused', reason: 'state_unavailable' },
      });
      expect((await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, second)).status).toBe(503);
      expect(failuresLeft).toBe(0);
      await loopHadItsChance();
      expect(await positions()).toBe(before);
      // Rolled back: the file holds nothing of the refused claims.
      expect(await readFile(ledgerPath, 'utf8')).toBe(ledgerBefore);
      // One alert for the outage, not one per signal.
      const texts = alerts.filter((a) => a.kind === 'state_untrusted').map((a) => a.text);
      expect(texts).toHaveLength(1);
      expect(texts[0]).toContain(`Could not write the signal ledger under ${t.stateDir}`);
      expect(texts[0]).toContain('EIO');

      // Not claimed, so the sender's retry is taken (not answered "duplicate") and executed once.
      expect(await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, first)).toEqual({
        status: 202,
        body: { id: 'inbox-disk-fails-1', status: 'accepted' },
      });
      await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === 'inbox-disk-fails-1');
    } finally {
      datasync.mockRestore();
      alertSpy.mockRestore();
    }
  });
});
