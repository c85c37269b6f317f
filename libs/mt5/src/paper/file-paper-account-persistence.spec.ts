import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, PaperAccount } from '@app/core';
import { FilePaperAccountPersistence, loadPaperAccountSnapshot } from './file-paper-account-persistence';
import { PaperBrokerGateway } from './paper-broker-gateway';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const OPTIONS = { balance: 10_000, symbols: ['EURUSD', 'USDJPY', 'XAUUSD'], seed: 42 };

describe('FilePaperAccountPersistence', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'paper-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips through the file: a restarted account has the same positions, equity and memory', async () => {
    const path = join(dir, 'state', 'paper-account.json');
    const clock = new ManualClock(T0);
    const account = new PaperAccount(OPTIONS);
    const gateway = new PaperBrokerGateway(account, clock, new FilePaperAccountPersistence(path));
    await gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.5, comment: 'o-1' });
    clock.advance(15_000);
    await gateway.openPosition({ request_id: 'o-2', symbol: 'XAUUSD', type: 'sell', volume: 0.1 });
    clock.advance(15_000);

    const snapshot = await loadPaperAccountSnapshot(path);
    expect(snapshot).toBeDefined();
    const restored = PaperAccount.restore(snapshot!, OPTIONS);
    const again = new PaperBrokerGateway(restored, clock);
    expect(await again.positions()).toEqual(await gateway.positions());
    expect(await again.account()).toEqual(await gateway.account());
    expect(await again.openPosition({ request_id: 'o-2', symbol: 'XAUUSD', type: 'sell', volume: 0.1 })).toMatchObject({
      ok: true,
      value: { position: 100_002 },
    });
    expect(restored.positions(clock.now())).toHaveLength(2);
  });

  it('returns undefined when there is no file yet', async () => {
    expect(await loadPaperAccountSnapshot(join(dir, 'missing.json'))).toBeUndefined();
  });

  it('throws an error naming the file when it is not JSON or not a snapshot', async () => {
    const path = join(dir, 'paper-account.json');
    await writeFile(path, '{"version":1,"bal');
    await expect(loadPaperAccountSnapshot(path)).rejects.toThrow(`paper account state ${path} is corrupt`);
    await writeFile(path, '{"version":1}');
    await expect(loadPaperAccountSnapshot(path)).rejects.toThrow(/paper-account\.json is corrupt: paper snapshot: positions must be an array/);
  });

  it('writes plain JSON with owner-only permissions', async () => {
    const path = join(dir, 'paper-account.json');
    const account = new PaperAccount(OPTIONS);
    await new FilePaperAccountPersistence(path).save(account.snapshot());
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ version: 1, balance: 10_000, positions: [] });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
