import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leaseVerdict, StateDirLock, type StateDirLockOptions, type StateDirOwner } from './state-dir-lock';

const NOW = 1_000_000;
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
    expect(leaseVerdict(undefined, { host: 'node-a' }, NOW).take).toBe(true);
  });

  it('takes the lease of this host at once: holding the OS lock proves its holder is gone', () => {
    expect(leaseVerdict(owner(), { host: 'node-a' }, NOW)).toEqual({
      take: true,
      why: 'pid 4242 is gone (renewed 1 s ago by its clock)',
    });
  });

  it("watches another host's lease, however old its clock says it is (no other host's clock is trusted)", () => {
    expect(leaseVerdict(owner({ host: 'node-b' }), { host: 'node-a' }, NOW).take).toBe(false);
    expect(
      leaseVerdict(owner({ host: 'node-b', renewed_at: NOW - 3_600_000 }), { host: 'node-a' }, NOW).take,
    ).toBe(false);
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
    // Renewals are driven by hand here (lock.renew()).
    every: () => () => undefined,
    renewEveryMs: 60_000,
    leaseTtlMs: 6_000,
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
      'the lease of pid 4242 on node-b (renewed 1 s ago by its clock) was watched for 6 s and not renewed',
    );
    expect(now - NOW).toBe(6_000);
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

  it('does not take a volume from a live holder on another host whose clock runs 10 s behind', async () => {
    // node-b renews every 2 s by its own clock, which is 10 s late: its lease always looks 10 s old here.
    const live = owner({ host: 'node-b', renewed_at: NOW - 10_000 });
    await writeFile(leaseFile(), JSON.stringify(live));
    const lock = new StateDirLock(
      dir,
      options({
        sleep: async (ms) => {
          now += ms;
          live.renewals++;
          live.renewed_at = now - 10_000;
          await writeFile(leaseFile(), JSON.stringify(live));
        },
      }),
    );
    await expect(lock.acquire()).rejects.toThrow('pid 4242 on node-b holds it and renews its lease');
  });

  it('a graceful stop leaves no lease behind, even with a renewal in flight', async () => {
    const lock = new StateDirLock(dir, options());
    await lock.acquire();
    const renewing = lock.renew(); // the renewal timer fired just before the stop's release
    await lock.release();
    await renewing;
    await expect(readFile(leaseFile())).rejects.toThrow('ENOENT');
  });

  it('a holder that cannot renew its lease for a lease period stops: another host may have taken the volume', async () => {
    const lock = new StateDirLock(dir, options());
    await lock.acquire();
    // Storage cut off: every read and write of the lease fails (the path is now a directory).
    await rename(leaseFile(), join(dir, 'old-lease'));
    await mkdir(leaseFile());
    now += 2_000;
    await lock.renew();
    expect(lost).toEqual([]);
    now += 4_000;
    await lock.renew();
    expect(lost).toEqual([
      `STATE_DIR ${dir}: the lease could not be renewed for 6 s; another host may have taken it over, so this process must not trade any more`,
    ]);
    await rm(leaseFile(), { recursive: true });
    await lock.release();
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
    /**
     * Dead but not reaped: the leader is a zombie AND no other thread of it is still exiting (a
     * leader shows Z while its other threads, which share its open files, are still tearing down).
     */
    const unreapedZombie = async (pid: number) =>
      (await processState(pid)) === 'Z' && (await readdir(`/proc/${pid}/task`)).length === 1;

    it('is refused while a live process holds the lock, and taken at once when it dies, zombie or not', async () => {
      const holder = await startHolderThatTurnsZombie();
      await expect(new StateDirLock(dir, options()).acquire()).rejects.toThrow(
        'another process holds its lock',
      );

      process.kill(holder, 'SIGKILL');
      // Dead but not reaped: `kill(pid, 0)` still succeeds on it, the OS lock is already gone.
      for (let i = 0; i < 200 && !(await unreapedZombie(holder)); i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await unreapedZombie(holder)).toBe(true);
      expect(() => process.kill(holder, 0)).not.toThrow();

      const lock = new StateDirLock(dir, options());
      await expect(lock.acquire()).resolves.toBe('no earlier owner');
      await lock.release();
    });
  });
});
