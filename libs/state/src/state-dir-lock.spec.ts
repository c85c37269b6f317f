import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leaseVerdict, StateDirLock, type StateDirLockOptions, type StateDirOwner } from './state-dir-lock';

const NOW = 1_000_000;
const TTL = 6_000;
const owner = (over: Partial<StateDirOwner> = {}): StateDirOwner => ({
  host: 'node-a',
  pid: 4242,
  token: 't-1',
  started_at: NOW - 60_000,
  renewed_at: NOW - 1_000,
  renewals: 30,
  ...over,
});

describe('leaseVerdict', () => {
  it('takes a STATE_DIR nobody leased', () => {
    expect(leaseVerdict(undefined, { host: 'node-a' }, NOW, TTL).take).toBe(true);
  });

  it('takes the lease of this host at once: holding the OS lock proves its holder is gone', () => {
    expect(leaseVerdict(owner(), { host: 'node-a' }, NOW, TTL)).toEqual({
      take: true,
      why: 'pid 4242 is gone (renewed 1 s ago)',
    });
  });

  it('watches a fresh lease of another host, and takes an expired one at once', () => {
    expect(leaseVerdict(owner({ host: 'node-b' }), { host: 'node-a' }, NOW, TTL)).toEqual({
      take: false,
      why: 'pid 4242 on node-b renewed its lease 1 s ago',
    });
    expect(
      leaseVerdict(owner({ host: 'node-b', renewed_at: NOW - TTL }), { host: 'node-a' }, NOW, TTL).take,
    ).toBe(true);
  });
});

describe('StateDirLock', () => {
  let dir: string;
  let now: number;
  let problems: string[];
  let lost: string[];
  const options = (over: Partial<StateDirLockOptions> = {}): StateDirLockOptions => ({
    host: 'node-a',
    pid: 77,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    renewEveryMs: 60_000,
    leaseTtlMs: TTL,
    onProblem: (message) => problems.push(message),
    onLost: (message) => lost.push(message),
    ...over,
  });
  const leaseFile = () => join(dir, 'owner.json');
  const readLease = async () => JSON.parse(await readFile(leaseFile(), 'utf8')) as StateDirOwner;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'state-lock-'));
    now = NOW;
    problems = [];
    lost = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a second holder while the first holds it, naming it, and lets it in after a graceful stop', async () => {
    const first = new StateDirLock(dir, options({ pid: 1001 }));
    await first.acquire();
    const second = new StateDirLock(dir, options({ pid: 1002 }));
    await expect(second.acquire()).rejects.toThrow(
      `STATE_DIR ${dir} is in use: pid 1001 on this host holds it (lease renewed 0 s ago). One process per STATE_DIR: stop that one first.`,
    );
    await first.release();
    await expect(readFile(leaseFile())).rejects.toThrow('ENOENT');
    await expect(second.acquire()).resolves.toBe('no earlier owner');
    await second.release();
  });

  it('renews its lease, and reports ownership lost once another process has taken it over', async () => {
    const lock = new StateDirLock(dir, options());
    await lock.acquire();
    now += 2_000;
    await lock.renew();
    const renewed = await readLease();
    expect(renewed).toMatchObject({ renewed_at: NOW + 2_000, started_at: NOW, renewals: 1 });

    await writeFile(leaseFile(), JSON.stringify(owner({ host: 'node-b', pid: 9, token: 'theirs' })));
    await lock.renew();
    await lock.renew();
    expect(lost).toEqual([
      `STATE_DIR ${dir} was taken over by pid 9 on node-b; this process must not trade it any more`,
    ]);
    // Their lease is left alone, and releasing does not delete what is theirs.
    await lock.release();
    expect((await readLease()).token).toBe('theirs');
  });

  it('treats a damaged lease file as no owner, and says so', async () => {
    await writeFile(leaseFile(), '{"host":');
    const lock = new StateDirLock(dir, options());
    await expect(lock.acquire()).resolves.toBe('no earlier owner');
    expect(problems).toEqual([`ignoring a damaged lease file ${leaseFile()}`]);
    await lock.release();
  });

  it('takes a volume from another host whose fresh lease stops changing, after one lease period', async () => {
    await writeFile(leaseFile(), JSON.stringify(owner({ host: 'node-b' })));
    const lock = new StateDirLock(dir, options());
    await expect(lock.acquire()).resolves.toBe(
      'pid 4242 on node-b renewed its lease 1 s ago, then stopped renewing it',
    );
    expect(now - NOW).toBe(TTL);
    expect((await readLease()).host).toBe('node-a');
    await lock.release();
  });

  it('refuses a volume whose lease another host keeps renewing (a filesystem that shares no locks)', async () => {
    await writeFile(leaseFile(), JSON.stringify(owner({ host: 'node-b' })));
    let sleeps = 0;
    const lock = new StateDirLock(
      dir,
      options({
        sleep: async (ms) => {
          now += ms;
          if (++sleeps === 3)
            await writeFile(
              leaseFile(),
              JSON.stringify(owner({ host: 'node-b', renewed_at: now, renewals: 31 })),
            );
        },
      }),
    );
    await expect(lock.acquire()).rejects.toThrow(
      'pid 4242 on node-b holds it and renews its lease (this filesystem does not share locks between hosts)',
    );
    // The refusal released the OS lock: a later start may try again.
    const again = new StateDirLock(dir, options({ host: 'node-b' }));
    await expect(again.acquire()).resolves.toContain('is gone');
    await again.release();
  });

  describe('against another process', () => {
    const children: ChildProcess[] = [];
    afterEach(() => {
      for (const child of children.splice(0)) child.kill('SIGKILL');
    });

    /**
     * A node process holding the lock, started by a shell that then becomes `sleep`: `sleep` never
     * reaps, so once the holder is killed it stays a zombie, as when a supervisor restarts a
     * service whose parent died too. Resolves with the holder's pid once it holds the lock.
     */
    const startHolderThatTurnsZombie = (): Promise<number> => {
      const script = [
        `const { lock } = require(${JSON.stringify(require.resolve('os-lock'))});`,
        `const fd = require('fs').openSync(${JSON.stringify(join(dir, 'owner.lock'))}, 'a');`,
        `lock(fd, { exclusive: true, immediate: true }).then(() => console.log('locked'));`,
        'setInterval(() => {}, 1000);',
      ].join('\n');
      const shell = spawn('sh', ['-c', `node -e "$HOLDER" & echo "pid $!"; exec sleep 60`], {
        env: { ...process.env, HOLDER: script },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(shell);
      return new Promise((resolve, reject) => {
        let out = '';
        shell.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const pid = /pid (\d+)/.exec(out)?.[1];
          if (pid !== undefined && out.includes('locked')) resolve(Number(pid));
        });
        shell.on('exit', () => reject(new Error(`holder shell exited: ${out}`)));
      });
    };

    const processState = async (pid: number) => (await readFile(`/proc/${pid}/stat`, 'utf8')).split(' ')[2];

    it('is refused while a live process holds the lock, and taken at once when it dies, zombie or not', async () => {
      const holder = await startHolderThatTurnsZombie();
      await expect(new StateDirLock(dir, options()).acquire()).rejects.toThrow(
        'another process holds its lock',
      );

      process.kill(holder, 'SIGKILL');
      // Dead but not reaped: `kill(pid, 0)` still succeeds on it, the OS lock is already gone.
      for (let i = 0; i < 100 && (await processState(holder)) !== 'Z'; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await processState(holder)).toBe('Z');
      expect(() => process.kill(holder, 0)).not.toThrow();

      const lock = new StateDirLock(dir, options());
      await expect(lock.acquire()).resolves.toBe('no earlier owner');
      await lock.release();
    });
  });
});
