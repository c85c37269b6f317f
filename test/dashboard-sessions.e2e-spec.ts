import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';

const ADMIN = 'dashboard-admin-token-0123456789';
const VIEWER = 'dashboard-viewer-token-0123456789';
const SECRET = 'inbox-secret-for-dashboard-sessions';
const DAY = 86_400_000;

async function signIn(baseUrl: string, token: string): Promise<string> {
  const login = await fetch(`${baseUrl}/dashboard/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(login.status).toBe(200);
  return (login.headers.get('set-cookie') ?? '').split(';')[0];
}

/** Reads a body until `until` says enough, or `ms` pass: what was read, and whether it ended. */
async function readFor(
  body: ReadableStream<Uint8Array>,
  ms: number,
  until: (text: string) => boolean = () => false,
): Promise<{ text: string; ended: 'done' | 'error' | 'timeout' }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) {
      void reader.cancel().catch(() => undefined);
      return { text, ended: 'timeout' };
    }
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      reader.read().then(
        (r) => r,
        () => 'error' as const,
      ),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
    ]);
    clearTimeout(timer);
    if (next === 'error') return { text, ended: 'error' };
    if (next === 'timeout') {
      void reader.cancel().catch(() => undefined);
      return { text, ended: 'timeout' };
    }
    if (next.done) return { text, ended: 'done' };
    text += decoder.decode(next.value, { stream: true });
    if (until(text)) {
      void reader.cancel().catch(() => undefined);
      return { text, ended: 'done' };
    }
  }
}

describe('dashboard', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp({ ADMIN_TOKEN: ADMIN, VIEWER_TOKEN: VIEWER, SIGNALS_HMAC_SECRET: SECRET });
  });
  afterEach(async () => {
    await t.close();
  });

  // docs/dashboard.md: "POST /dashboard/logout forgets it" and sessions live 12 hours. The live
  // event stream is checked once, when it opens: a signed-out (or expired) session keeps
  // receiving every account's events for as long as it keeps the connection.
  it('stops the live stream of a session that signed out', async () => {
    const cookie = await signIn(t.baseUrl, VIEWER);
    const controller = new AbortController();
    const stream = await fetch(`${t.baseUrl}/dashboard/api/events/stream`, {
      headers: { cookie, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);

    const logout = await fetch(`${t.baseUrl}/dashboard/logout`, { method: 'POST', headers: { cookie } });
    expect(logout.status).toBe(200);
    // The session is gone for every other call...
    expect((await fetch(`${t.baseUrl}/dashboard/api/overview`, { headers: { cookie } })).status).toBe(401);

    // ...yet a signal traded after the sign-out still reaches the signed-out stream.
    const body = signalBody();
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    const read = await readFor(stream.body!, 3_000, (text) => text.includes(body.id as string));
    controller.abort();
    expect(read.text).not.toContain(body.id as string);
  });

  // docs/history.md: "An error after the first byte cuts the response short (no final chunk)".
  // Through /dashboard/api/.../export the cut upstream answer is piped without its error: the
  // browser's download neither ends nor fails; it hangs with a truncated file.
  it('cuts a dashboard export short when the export fails after its first byte', async () => {
    const historyDir = join(t.stateDir, 'history');
    await mkdir(historyDir, { recursive: true });
    const today = new Date(Math.floor(Date.now() / DAY) * DAY);
    const yesterday = new Date(today.getTime() - DAY);
    const lines: string[] = [];
    for (let i = 0; i < 2_000; i++)
      lines.push(
        JSON.stringify({
          type: 'equity_sample',
          at: yesterday.getTime() + i * 1_000,
          account_id: 'default',
          payload: { equity: 10_000, baseline_equity: 10_000, drawdown_percent: 0 },
        }),
      );
    await writeFile(
      join(historyDir, `${yesterday.toISOString().slice(0, 10)}.jsonl`),
      `${lines.join('\n')}\n`,
    );
    // The next day's file cannot be read (EISDIR): the export fails after its first rows.
    const unreadable = join(
      historyDir,
      `${new Date(today.getTime() + DAY).toISOString().slice(0, 10)}.jsonl`,
    );
    await mkdir(unreadable, { recursive: true });
    const query = `kind=equity&format=csv&from=${yesterday.toISOString()}&to=${new Date(today.getTime() + 2 * DAY - 1).toISOString()}`;

    // Straight from the API: cut short, as documented.
    const direct = await fetch(`${t.baseUrl}/api/v1/accounts/default/export?${query}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(direct.status).toBe(200);
    const directRead = await readFor(direct.body!, 5_000);
    expect(directRead.ended).toBe('error');

    // Through the dashboard: the same failure should cut the download short too.
    const cookie = await signIn(t.baseUrl, ADMIN);
    const viaDashboard = await fetch(`${t.baseUrl}/dashboard/api/accounts/default/export?${query}`, {
      headers: { cookie },
    });
    expect(viaDashboard.status).toBe(200);
    const dashboardRead = await readFor(viaDashboard.body!, 5_000);
    expect(dashboardRead.text.length).toBeGreaterThan(0);
    expect(dashboardRead.ended).toBe('error');
  });
});
