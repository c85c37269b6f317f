import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Retcode, SystemClock, type BrokerResult } from '@app/core';
import { HttpBridgeGateway } from '@app/mt5/http/http-bridge-gateway';

const TESTS_DIR = join(__dirname, '../tools/mt5-bridge/tests');
const KEY_ID = 'e2e-key';
const SECRET = 'an-e2e-secret-of-32-characters!!';

/**
 * The reference Python bridge (tools/mt5-bridge) keeps its pure parts (signature check,
 * idempotency store, retcode mapping, routing) under stdlib unittest with MetaTrader5 faked. Run
 * them here so `npm test` covers them too, then serve the bridge over that stand-in terminal
 * (tests/serve_fake_bridge.py, stdlib only) and drive it with the service's own client.
 */
describe('reference MT5 bridge (Python)', () => {
  afterAll(() => {
    for (const child of running) child.kill('SIGKILL');
  });

  it('passes its unit tests', () => {
    const run = spawnSync('python3', ['-m', 'unittest', 'discover', '-s', TESTS_DIR], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (run.error) throw new Error(`python3 could not run: ${run.error.message}`);
    const summary = `${run.stdout}\n${run.stderr}`;
    expect(summary).toMatch(/Ran [1-9]\d* tests?/);
    expect(run.status).toBe(0);
  });

  describe.each([
    ['at the root', ''],
    ['under a path prefix', '/t2'],
  ])("through the service's HTTP client, %s", (_label, prefix) => {
    let bridge: RunningBridge;
    let gateway: HttpBridgeGateway;

    beforeAll(async () => {
      bridge = await startReferenceBridge(prefix);
      gateway = client(`${bridge.url}${prefix}`);
    });

    afterAll(async () => {
      gateway?.close();
      await bridge?.stop();
    });

    it('answers health and the account', async () => {
      expect(value(await gateway.health())).toEqual({ connected: true });
      expect(value(await gateway.account())).toMatchObject({ login: 123, currency: 'USD' });
    });

    it('describes EURUSD with the ten fields the service sizes orders from', async () => {
      expect(value(await gateway.symbol('EURUSD'))).toEqual({
        symbol: 'EURUSD',
        digits: 5,
        contract_size: 100_000,
        tick_size: 0.00001,
        tick_value: 1,
        volume_min: 0.01,
        volume_max: 100,
        volume_step: 0.01,
        bid: 1.09,
        ask: 1.0902,
      });
    });

    it('signs a name with # as it goes on the wire (percent-encoded)', async () => {
      expect(value(await gateway.symbol('EURUSD#'))).toMatchObject({ symbol: 'EURUSD#', volume_step: 0.1 });
    });

    it('answers a symbol the terminal does not know with a final unknown_symbol', async () => {
      expect(await gateway.symbol('NOSUCH')).toMatchObject({
        ok: false,
        error: { kind: 'final', code: 'unknown_symbol' },
      });
    });

    it('opens, lists, closes and reports deals, each POST signed over its full path', async () => {
      const opened = value(
        await gateway.openPosition({
          request_id: `o-e2e${prefix.replace('/', '-')}`,
          symbol: 'EURUSD',
          type: 'buy',
          volume: 0.1,
          magic: 19019,
        }),
      );
      expect(opened.retcode).toBe(Retcode.DONE);
      expect(value(await gateway.positions()).map((p) => p.ticket)).toContain(opened.position);
      const closed = value(
        await gateway.closePosition({
          request_id: `c-e2e${prefix.replace('/', '-')}`,
          ticket: opened.position,
        }),
      );
      expect(closed).toMatchObject({ retcode: Retcode.DONE, position: opened.position });
      expect(value(await gateway.deals(opened.position)).map((d) => d.entry)).toEqual(['in', 'out']);
    });
  });

  describe('with a path prefix, outside it', () => {
    let bridge: RunningBridge;

    beforeAll(async () => {
      bridge = await startReferenceBridge('/t2');
    });

    afterAll(async () => {
      await bridge?.stop();
    });

    it.each([[''], ['/t3'], ['/t2/t2']])('answers a base URL of %p with a final 404', async (path) => {
      const outside = client(`${bridge.url}${path}`);
      try {
        expect(await outside.health()).toMatchObject({
          ok: false,
          error: { kind: 'final', code: 'http_404' },
        });
        expect(await outside.symbol('EURUSD')).toMatchObject({ ok: false, error: { kind: 'final' } });
      } finally {
        outside.close();
      }
    });
  });
});

interface RunningBridge {
  url: string;
  stop(): Promise<void>;
}

function client(baseUrl: string): HttpBridgeGateway {
  return new HttpBridgeGateway(
    { baseUrl, keyId: KEY_ID, secret: SECRET, timeoutMs: 5_000, maxRetries: 0 },
    new SystemClock(),
  );
}

function value<T>(result: BrokerResult<T>): T {
  if (!result.ok)
    throw new Error(`expected ok, got ${result.error.kind}/${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** Every bridge started and not yet gone: killed after all tests, whatever failed. */
const running = new Set<ChildProcess>();

/**
 * tests/serve_fake_bridge.py on a free port, its store in a folder of its own; resolves once it
 * prints the port it listens on. `stop` kills it (its state is thrown away) and removes the folder.
 */
async function startReferenceBridge(prefix: string): Promise<RunningBridge> {
  const folder = mkdtempSync(join(tmpdir(), 'mt5-bridge-e2e-'));
  const child = spawn('python3', [join(TESTS_DIR, 'serve_fake_bridge.py')], {
    env: {
      ...process.env,
      MT5_BRIDGE_KEY_ID: KEY_ID,
      MT5_BRIDGE_SECRET: SECRET,
      MT5_BRIDGE_PATH_PREFIX: prefix,
      MT5_BRIDGE_DB: join(folder, 'ids.sqlite3'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void gone.then(() => running.delete(child));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      child.kill('SIGKILL');
    await gone;
    rmSync(folder, { recursive: true, force: true });
  };
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the reference bridge did not listen within 20 s: ${stderr}`)),
        20_000,
      );
      createInterface({ input: child.stdout }).on('line', (line) => {
        const match = /^listening on (\d+)$/.exec(line);
        if (match === null) return;
        clearTimeout(timer);
        resolve(Number(match[1]));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`python3 could not run: ${error.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the reference bridge exited (${String(code)}) before listening: ${stderr}`));
      });
    });
    return { url: `http://127.0.0.1:${port}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
