import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDecision, StateDirLock, type StateDirLockOptions, type StateDirOwner } from './state-dir-lock';

const NOW = 1_000_000;
const STALE = 45_000;
const owner = (over: Partial<StateDirOwner> = {}): StateDirOwner => ({
  host: 'node-a',
  pid: 4242,
  token: 't-1',
  started_at: NOW - 60_000,
  renewed_at: NOW - 5_000,
  ...over,
});
const me = { host: 'node-a', pid: 77 };
const alive = () => true;
const dead = () => false;

describe('lockDecision', () => {
  it('takes a STATE_DIR nobody holds', () => {
    expect(lockDecision(undefined, me, NOW, STALE, alive).take).toBe(true);
  });

  it('refuses while another live bot on this host holds it, naming it', () => {
    expect(lockDecision(owner(), me, NOW, STALE, alive)).toEqual({
      take: false,
      why: 'pid 4242 on this host holds it (renewed 5 s ago)',
    });
  });

  it('takes it from a pid that no longer runs (kill -9), at once', () => {
    expect(lockDecision(owner(), me, NOW, STALE, dead)).toEqual({
      take: true,
      why: 'pid 4242 is not running',
    });
  });

  it('takes it from an earlier run with the same pid on the same host (pid 1 in a restarted container)', () => {
    expect(lockDecision(owner({ pid: 77 }), me, NOW, STALE, alive).take).toBe(true);
  });

  it('takes it from a live pid that stopped renewing (a reused pid, not a bot)', () => {
    expect(lockDecision(owner({ renewed_at: NOW - STALE }), me, NOW, STALE, alive).take).toBe(true);
  });

  it('refuses a fresh lease of another host, and takes an expired one', () => {
    const other = owner({ host: 'node-b' });
    expect(lockDecision(other, me, NOW, STALE, dead)).toEqual({
      take: false,
      why: 'pid 4242 on node-b holds it (renewed 5 s ago)',
    });
    expect(lockDecision(owner({ host: 'node-b', renewed_at: NOW - 50_000 }), me, NOW, STALE, dead).take).toBe(
      true,
    );
  });
});

describe('StateDirLock', () => {
  let dir: string;
  let now: number;
  let problems: string[];
  const options = (over: Partial<StateDirLockOptions> = {}): StateDirLockOptions => ({
    host: 'node-a',
    pid: 77,
    now: () => now,
    isAlive: () => true,
    renewEveryMs: 60_000,
    staleAfterMs: STALE,
    onProblem: (message) => problems.push(message),
    ...over,
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'state-lock-'));
    now = NOW;
    problems = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a second process while the first holds the lock, and lets it in after a graceful stop', async () => {
    const first = new StateDirLock(dir, options({ pid: 1001 }));
    await first.acquire();
    const second = new StateDirLock(dir, options({ pid: 1002 }));
    await expect(second.acquire()).rejects.toThrow(
      `STATE_DIR ${dir} is in use: pid 1001 on this host holds it (renewed 0 s ago). One process per account: stop that one first; if it is gone, delete ${join(dir, 'owner.json')}.`,
    );
    await first.release();
    await expect(second.acquire()).resolves.toBe('no owner');
    await second.release();
  });

  it('renews its lease, and says so loudly when another process has taken it over', async () => {
    const lock = new StateDirLock(dir, options());
    await lock.acquire();
    now += 10_000;
    await lock.renew();
    const renewed = JSON.parse(await readFile(lock.path, 'utf8')) as StateDirOwner;
    expect(renewed.renewed_at).toBe(NOW + 10_000);
    expect(renewed.started_at).toBe(NOW);

    await writeFile(lock.path, JSON.stringify(owner({ host: 'node-b', pid: 9, token: 'theirs' })));
    await lock.renew();
    expect(problems).toEqual([
      `STATE_DIR ${dir} was taken over by pid 9 on node-b: two processes may now trade one account`,
    ]);
    // Their lease is left alone, and releasing does not delete what is theirs.
    await lock.release();
    expect((JSON.parse(await readFile(lock.path, 'utf8')) as StateDirOwner).token).toBe('theirs');
  });

  it('treats a damaged lock file as no owner, and says so', async () => {
    await writeFile(join(dir, 'owner.json'), '{"host":');
    const lock = new StateDirLock(dir, options());
    await expect(lock.acquire()).resolves.toBe('no owner');
    expect(problems).toEqual([`ignoring a damaged lock file ${join(dir, 'owner.json')}`]);
    await lock.release();
  });
});
