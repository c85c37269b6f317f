import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  FakeBridgeAccount,
  sendJson,
  type BridgeAccountHost,
  type FakeMt5BridgeOptions,
} from './fake-bridge-account';

/**
 * One fake bridge host in front of many terminals (docs/mt5-bridge.md, Signing: a base URL may
 * carry a path prefix): one HTTP server on 127.0.0.1 whose every account lives under a path
 * prefix of its own, `http://127.0.0.1:<port>/<prefix>`, with its own key id, secret, positions,
 * deals, idempotency store, prices, faults and request log (`FakeBridgeAccount`). The signature
 * is checked over the full path, prefix included; a path under no account's prefix answers
 * `404 {"error":"not_found"}` before any signature check, as the reference bridge does.
 *
 * An account costs a few empty maps and no socket of its own, so a test can hold a hundred. Faults
 * stay per account: a `hang` on one holds only that call's connection. Connections are kept alive.
 *
 * `FakeMt5Bridge` (fake-mt5-bridge.ts) is the one-account case: its account at the root of a host
 * of its own, every path its own.
 */

export interface FakeBridgeHostOptions {
  /** Options of every account added, under those given to `addAccount` (key id, secret and login stay per account). */
  accountDefaults?: Omit<FakeMt5BridgeOptions, 'keyId' | 'secret' | 'login'>;
}

/** What the reference bridge accepts for MT5_BRIDGE_PATH_PREFIX: one path segment. */
const PREFIX_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_BODY_BYTES = 64 * 1024;
/** First login of the accounts under a prefix, one more per account added. */
const FIRST_LOGIN = 500_001;

export class FakeBridgeHost implements BridgeAccountHost {
  /** Calls whose path named no account (404 `not_found`). */
  unroutedCalls = 0;

  private readonly server: Server;
  private port = 0;
  private down = false;
  /** By prefix; '' is the one account of a `FakeMt5Bridge`, which then owns every path. */
  private readonly byPrefix = new Map<string, FakeBridgeAccount>();
  private nextLogin = FIRST_LOGIN;

  constructor(private readonly options: FakeBridgeHostOptions = {}) {
    this.server = createServer((req, res) => this.onRequest(req, res));
    // Tests drive keep-alive sockets hard; a long idle timeout keeps the client's reuse race out of them.
    this.server.keepAliveTimeout = 60_000;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /**
   * A new account under `prefix` (`t2` or `/t2`: one segment of `[A-Za-z0-9._-]`), served from
   * now on at `<host url>/t2`. Key id `key-<prefix>`, a random secret and a login of its own
   * unless `options` say otherwise.
   */
  addAccount(prefix: string, options: FakeMt5BridgeOptions = {}): FakeBridgeAccount {
    const name = prefix.startsWith('/') ? prefix.slice(1) : prefix;
    if (!PREFIX_PATTERN.test(name) || name === '.' || name === '..')
      throw new Error(`bad account prefix ${JSON.stringify(prefix)}: one segment of [A-Za-z0-9._-]`);
    return new FakeBridgeAccount(
      { ...this.options.accountDefaults, login: this.nextLogin++, ...options },
      this,
      name,
    );
  }

  /** The account under `prefix` (`t2` or `/t2`); throws when there is none. */
  account(prefix: string): FakeBridgeAccount {
    const account = this.byPrefix.get(prefix.startsWith('/') ? prefix.slice(1) : prefix);
    if (account === undefined) throw new Error(`no account at prefix ${JSON.stringify(prefix)}`);
    return account;
  }

  /** Every account served, in the order added. */
  accounts(): FakeBridgeAccount[] {
    return [...this.byPrefix.values()];
  }

  attach(account: FakeBridgeAccount): void {
    if (this.byPrefix.has(account.prefix))
      throw new Error(`an account is already at prefix ${JSON.stringify(account.prefix)}`);
    if (this.byPrefix.has('') || (account.prefix === '' && this.byPrefix.size > 0))
      throw new Error('an account at the root of a host is its only account');
    this.byPrefix.set(account.prefix, account);
  }

  detach(account: FakeBridgeAccount): void {
    if (this.byPrefix.get(account.prefix) === account) this.byPrefix.delete(account.prefix);
  }

  /** The whole host down: the listener is closed and every connection dropped; up again on the same port. */
  async setDown(down: boolean): Promise<void> {
    if (down === this.down) return;
    this.down = down;
    if (down) await this.stopListening();
    else await this.listen(this.port);
  }

  /** Cancels every delayed answer, drops every connection (hanging calls included) and stops listening. */
  async close(): Promise<void> {
    for (const account of this.byPrefix.values()) account.release();
    if (!this.down) await this.stopListening();
    this.down = true;
  }

  private async stopListening(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Drops keep-alive and hanging connections too, so close() never waits on a client.
    this.server.closeAllConnections();
    await closed;
  }

  /** The account a request target belongs to, and the path below its prefix. */
  private route(target: string): { account: FakeBridgeAccount; path: string } | undefined {
    const path = target.split('?')[0] ?? '/';
    const root = this.byPrefix.get('');
    if (root !== undefined) return { account: root, path };
    const slash = path.indexOf('/', 1);
    const account = this.byPrefix.get(slash === -1 ? path.slice(1) : path.slice(1, slash));
    return account === undefined ? undefined : { account, path: slash === -1 ? '' : path.slice(slash) };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '/';
    // An account that is down under a prefix: the connection is reset before anything is read.
    if (this.route(target)?.account.refusesCalls === true) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES)
        return sendJson(res, { status: 413, body: { error: 'too_large', message: 'body over 64 KiB' } });
      // Routed once the body is in: an account added, closed or set down meanwhile counts as it is now.
      const routed = this.route(target);
      if (routed === undefined) {
        this.unroutedCalls += 1;
        const path = target.split('?')[0] ?? '/';
        return sendJson(res, { status: 404, body: { error: 'not_found', message: `no account at ${path}` } });
      }
      if (routed.account.refusesCalls) {
        req.socket.destroy();
        return;
      }
      routed.account.serve(req, res, target, routed.path, Buffer.concat(chunks).toString('utf8'));
    });
  }
}

/** A listening host with no account yet: `addAccount` as many as the test needs. */
export async function startFakeBridgeHost(options: FakeBridgeHostOptions = {}): Promise<FakeBridgeHost> {
  return new FakeBridgeHost(options).listen();
}
