import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { waitForMatch } from './wait-for-match';
import { waitUntil } from './wait-until';

const REPO_ROOT = join(__dirname, '../..');
const ENTRY = join(REPO_ROOT, 'dist/apps/trading-bot/apps/trading-bot/src/main.js');

export type LogLine = Record<string, unknown> & { type?: string; msg?: string };

export interface ServiceProcessOptions {
  /**
   * Keep only the parsed lines this accepts (and the last 200 raw lines), for long runs whose
   * full log would fill the test process's memory.
   */
  keepLine?: (line: LogLine) => boolean;
  /**
   * Start it as a supervisor would: `npm run start:prod` in a process group of its own, so that
   * `killGroup` kills npm and node together (node is then orphaned and reaped late).
   */
  viaNpm?: boolean;
}

/** A free TCP port on 127.0.0.1 (the service must know its port before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * The compiled service as a real process, exactly as `npm run start:prod` runs it: stdout is
 * parsed as pino JSON lines so tests can read the log contract.
 */
export class ServiceProcess {
  readonly lines: LogLine[] = [];
  readonly rawStdout: string[] = [];
  private child: ChildProcess | undefined;
  private buffer = '';
  private exitInfo: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly env: Record<string, string>,
    readonly port: number,
    readonly stateDir: string,
    private readonly options: ServiceProcessOptions = {},
  ) {}

  /** Build the service if its sources changed since the last build (once per test file). */
  static buildOnce(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildIfStale } = require('../../scripts/build-if-stale.cjs') as { buildIfStale: () => void };
    buildIfStale();
  }

  static async start(
    env: Record<string, string> = {},
    stateDir?: string,
    options: ServiceProcessOptions = {},
  ): Promise<ServiceProcess> {
    const dir = stateDir ?? (await mkdtemp(join(tmpdir(), 'trading-bot-proc-')));
    const port = await freePort();
    const service = new ServiceProcess(
      { PORT: String(port), STATE_DIR: dir, LOG_LEVEL: 'info', SIGNAL_SOURCES: 'inbox', ...env },
      port,
      dir,
      options,
    );
    service.spawn();
    return service;
  }

  /** The child's pid (for /proc readings), once spawned. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  spawn(): void {
    this.buffer = '';
    const env = { PATH: process.env.PATH ?? '', TZ: 'UTC', ...this.env };
    const child = this.options.viaNpm
      ? spawn('npm', ['run', '--silent', 'start:prod'], {
          cwd: REPO_ROOT,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        })
      : spawn(process.execPath, [ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline = this.buffer.indexOf('\n');
      while (newline >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        this.rawStdout.push(line);
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          parsed = { msg: line, type: 'non_json' };
        }
        const keep = this.options.keepLine;
        if (keep === undefined) this.lines.push(parsed);
        else {
          if (keep(parsed)) this.lines.push(parsed);
          if (this.rawStdout.length > 400) this.rawStdout.splice(0, 200);
        }
        newline = this.buffer.indexOf('\n');
      }
      for (const waiter of this.waiters) waiter();
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.rawStdout.push(`[stderr] ${chunk}`));
    this.exitInfo = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  waitForLine(predicate: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    return waitForMatch(
      () => this.lines.find(predicate),
      this.waiters,
      timeoutMs,
      () =>
        `no matching log line within ${timeoutMs} ms; last lines:\n${this.rawStdout.slice(-15).join('\n')}`,
    );
  }

  /** Resolves once `count` log lines so far match `predicate` ("N more": count the matching ones first). */
  waitForLineCount(
    predicate: (line: LogLine) => boolean,
    count: number,
    timeoutMs = 15_000,
  ): Promise<LogLine[]> {
    return waitForMatch(
      () => {
        const matching = this.lines.filter(predicate);
        return matching.length >= count ? matching : undefined;
      },
      this.waiters,
      timeoutMs,
      () =>
        `not ${count} matching log lines within ${timeoutMs} ms (${this.lines.filter(predicate).length}); last lines:\n${this.rawStdout.slice(-15).join('\n')}`,
    );
  }

  async waitUntilReady(timeoutMs = 15_000): Promise<void> {
    await waitUntil(
      async () => {
        try {
          return (await fetch(`${this.baseUrl}/health/ready`)).status === 200;
        } catch {
          return false; // not listening yet
        }
      },
      {
        what: 'the service to be ready',
        timeoutMs,
        intervalMs: 100,
        detail: () => `last lines:\n${this.rawStdout.slice(-20).join('\n')}`,
      },
    );
  }

  kill(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Signal the whole process group (with `viaNpm`: npm, its shell if any, and node). */
  killGroup(signal: NodeJS.Signals): void {
    if (this.child?.pid === undefined) throw new Error('not started');
    process.kill(-this.child.pid, signal);
  }

  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exitInfo === undefined) throw new Error('not started');
    return this.exitInfo;
  }

  async stop(): Promise<void> {
    if (this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      if (this.options.viaNpm) this.killGroup('SIGKILL');
      else this.child.kill('SIGKILL');
      await this.exited();
    }
  }
}
