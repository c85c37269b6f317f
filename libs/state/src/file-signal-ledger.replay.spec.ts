import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FOR_DEFAULT,
  HALTED_DEFAULT,
  LEDGER_T0 as T0,
  unfinishedOf,
  ledgerSignal as signal,
  reopenLedger,
} from './file-signal-ledger.test-helpers';

describe('FileSignalLedger: replay after a restart', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ledger-replay-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const restart = () => reopenLedger(dir);

  it('starts empty and trusted on a new STATE_DIR', async () => {
    const { ledger, load } = await restart();
    expect(load).toEqual({ unfinished: new Map(), known: 0, problems: [], trusted: true });
    await ledger.close();
  });

  it('knows every id after a reopen and refuses to claim any of them again', async () => {
    const first = await restart();
    for (let i = 0; i < 30; i++)
      await first.ledger.claim(signal(`sig-${i}`), i % 3 === 0 ? HALTED_DEFAULT : FOR_DEFAULT, T0 + i);
    await first.ledger.close();

    const second = await restart();
    expect(second.load.known).toBe(30);
    expect(second.load.trusted).toBe(true);
    for (let i = 0; i < 30; i++) {
      expect(second.ledger.has(`sig-${i}`)).toBe(true);
      expect(await second.ledger.claim(signal(`sig-${i}`), FOR_DEFAULT, T0 + 100)).toBe('duplicate');
    }
    expect(await second.ledger.claim(signal('sig-new'), FOR_DEFAULT, T0 + 100)).toBe('claimed');
    await second.ledger.close();
  });

  it('lists accepted and approved signals without a final status as unfinished, with their bodies and latest status', async () => {
    const first = await restart();
    const pending = signal('pending', { sl: 1.08, tp: 1.1, createdAtMs: T0 - 500 });
    await first.ledger.claim(pending, FOR_DEFAULT, T0);
    await first.ledger.claim(signal('approved'), FOR_DEFAULT, T0);
    await first.ledger.update('default', 'approved', 'approved', T0 + 10);
    await first.ledger.claim(signal('executed'), FOR_DEFAULT, T0);
    await first.ledger.update('default', 'executed', 'approved', T0 + 10);
    await first.ledger.update('default', 'executed', 'executed', T0 + 20, { request_id: 'o-1', ticket: 7 });
    await first.ledger.claim(signal('failed'), FOR_DEFAULT, T0);
    await first.ledger.update('default', 'failed', 'failed', T0 + 20, { reason: 'NO_MONEY' });
    await first.ledger.claim(signal('refused'), HALTED_DEFAULT, T0);
    await first.ledger.claim(signal('manual-no'), FOR_DEFAULT, T0);
    await first.ledger.update('default', 'manual-no', 'rejected', T0 + 5, { reason: 'rejected by operator' });
    await first.ledger.close();

    const second = await restart();
    expect(second.load.known).toBe(6);
    expect(unfinishedOf(second.load)).toEqual([
      { signal: pending, status: 'accepted' },
      { signal: signal('approved'), status: 'approved' },
    ]);
    expect(second.ledger.status('executed')).toBe('executed');
    expect(second.ledger.status('failed')).toBe('failed');
    expect(second.ledger.status('manual-no')).toBe('rejected');
    await second.ledger.close();
  });

  it('a signal finished in a later run is no longer unfinished after the next restart', async () => {
    const first = await restart();
    await first.ledger.claim(signal('s'), FOR_DEFAULT, T0);
    await first.ledger.close();
    const second = await restart();
    expect(unfinishedOf(second.load).map((u) => u.signal.id)).toEqual(['s']);
    await second.ledger.update('default', 's', 'executed', T0 + 1000, { ticket: 9 });
    await second.ledger.close();
    const third = await restart();
    expect(unfinishedOf(third.load)).toEqual([]);
    expect(third.ledger.status('s')).toBe('executed');
    await third.ledger.close();
  });

  it('stays trusted after a torn last line (kill -9 mid-write), reporting it as a problem, also on later restarts', async () => {
    const first = await restart();
    await first.ledger.claim(signal('kept'), FOR_DEFAULT, T0);
    await first.ledger.close();
    await appendFile(join(dir, 'signals.jsonl'), '{"id":"cut","status":"acc');

    const second = await restart();
    expect(second.load.trusted).toBe(true);
    expect(second.load.known).toBe(1);
    expect(second.load.problems).toEqual([
      `${join(dir, 'signals.jsonl')}: skipped a last line cut short by a crash`,
    ]);
    expect(await second.ledger.claim(signal('after'), FOR_DEFAULT, T0 + 1)).toBe('claimed');
    await second.ledger.close();

    const third = await restart();
    expect(third.load).toMatchObject({ known: 2, problems: [], trusted: true });
    await third.ledger.close();
  });

  it('is not trusted when a line in the middle is damaged, and names the line', async () => {
    const first = await restart();
    await first.ledger.claim(signal('a'), FOR_DEFAULT, T0);
    await first.ledger.claim(signal('b'), FOR_DEFAULT, T0);
    await first.ledger.claim(signal('c'), FOR_DEFAULT, T0);
    await first.ledger.close();
    const path = join(dir, 'signals.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n');
    lines[1] = lines[1].slice(0, 25); // a block lost in the middle of the file
    await writeFile(path, lines.join('\n'));

    const second = await restart();
    expect(second.load.trusted).toBe(false);
    expect(second.load.known).toBe(2);
    expect(second.ledger.has('a')).toBe(true);
    expect(second.ledger.has('b')).toBe(false);
    expect(second.ledger.has('c')).toBe(true);
    expect(second.load.problems).toEqual([`${path}: damaged lines 2`]);
    await second.ledger.close();
  });

  it('skips well-formed JSON lines that are not ledger records', async () => {
    await writeFile(
      join(dir, 'signals.jsonl'),
      '{"id":"ok","status":"executed","at":1}\nnull\n42\n{"id":7,"status":"accepted"}\n{"status":"accepted"}\n',
    );
    const { ledger, load } = await restart();
    expect(load).toMatchObject({ known: 1, trusted: true });
    expect(unfinishedOf(load)).toEqual([]);
    expect(ledger.status('ok')).toBe('executed');
    await ledger.close();
  });
});
