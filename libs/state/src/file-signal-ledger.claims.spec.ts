import type { TradeSignal } from '@app/core';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSignalLedger } from './file-signal-ledger';
import {
  FOR_DEFAULT,
  HALTED_DEFAULT,
  LEDGER_T0 as T0,
  ledgerSignal,
} from './file-signal-ledger.test-helpers';

const signal = (id: string, side: TradeSignal['side'] = 'buy'): TradeSignal => ledgerSignal(id, { side });

describe('FileSignalLedger: claiming ids', () => {
  let dir: string;
  let ledger: FileSignalLedger;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ledger-claims-'));
    ledger = new FileSignalLedger(dir);
    await ledger.open();
  });

  afterEach(async () => {
    await ledger.close().catch(() => undefined);
    await chmod(dir, 0o700).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('claims a new id once; the same id again is refused, whatever its status', async () => {
    expect(await ledger.claim(signal('sig-1'), FOR_DEFAULT, T0)).toBe('claimed');
    expect(await ledger.claim(signal('sig-1'), FOR_DEFAULT, T0 + 1)).toBe('duplicate');
    expect(await ledger.claim(signal('sig-1'), HALTED_DEFAULT, T0 + 2)).toBe('duplicate');
    expect(ledger.has('sig-1')).toBe(true);
    expect(ledger.status('sig-1')).toBe('accepted');
    expect(ledger.has('sig-2')).toBe(false);
    expect(ledger.status('sig-2')).toBeUndefined();
  });

  it('refuses an id first recorded as rejected (halted), so it is never executed later', async () => {
    expect(await ledger.claim(signal('sig-h'), HALTED_DEFAULT, T0)).toBe('claimed');
    expect(await ledger.claim(signal('sig-h'), FOR_DEFAULT, T0 + 1)).toBe('duplicate');
    expect(ledger.status('sig-h')).toBe('rejected');
  });

  it('lets exactly one of two concurrent claims of one id win', async () => {
    const results = await Promise.all([
      ledger.claim(signal('dup'), FOR_DEFAULT, T0),
      ledger.claim(signal('dup'), FOR_DEFAULT, T0),
    ]);
    expect(results.sort()).toEqual(['claimed', 'duplicate']);
  });

  it('lets exactly one of many concurrent claims per id win, across many ids, and writes one record per id', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `sig-${i}`);
    const claims = ids.flatMap((id) =>
      [0, 1, 2].map(() => ledger.claim(signal(id), FOR_DEFAULT, T0).then((won) => ({ id, won }))),
    );
    const results = await Promise.all(claims);
    for (const id of ids) expect(results.filter((r) => r.id === id && r.won === 'claimed')).toHaveLength(1);
    await ledger.close();
    const lines = (await readFile(join(dir, 'signals.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(20);
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(ids);
  });

  it('writes the whole signal with an accepted claim and a reason with a rejected one', async () => {
    await ledger.claim(signal('a-1'), FOR_DEFAULT, T0);
    await ledger.claim(signal('r-1'), HALTED_DEFAULT, T0 + 1);
    await ledger.close();
    const lines = (await readFile(join(dir, 'signals.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([
      { id: 'a-1', status: 'accepted', at: T0, signal: signal('a-1') },
      { id: 'r-1', status: 'rejected', at: T0 + 1, reason: 'halted' },
    ]);
  });

  it('releases the claim when it could not be written, so a retry is not answered duplicate', async () => {
    await ledger.close();
    const closed = new FileSignalLedger(dir); // never opened: every append fails
    await expect(closed.claim(signal('lost'), FOR_DEFAULT, T0)).rejects.toThrow('is not open');
    expect(closed.has('lost')).toBe(false);
    await expect(closed.claim(signal('lost'), FOR_DEFAULT, T0)).rejects.toThrow('is not open');
  });
});
