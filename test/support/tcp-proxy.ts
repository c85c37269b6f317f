import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * How a cut treats connections made while it lasts:
 * - `refuse`: closed at once (the peer sees the connection end, as with a host that is down);
 * - `blackhole`: accepted and never forwarded nor answered (what a network partition looks like:
 *   the peer waits until its own timeout gives up).
 */
export type CutMode = 'refuse' | 'blackhole';

/** Where a TCP proxy forwards to. */
export interface ProxyTarget {
  host: string;
  port: number;
}

/**
 * A TCP proxy on 127.0.0.1 in front of one upstream (a database, say) that a test can cut and
 * restore, to put a process on the far side of a network failure while everything else it talks
 * to stays reachable.
 *
 * `cut()` destroys every open connection (both sides) and treats new ones by its mode until
 * `restore()`; `restore()` drops the connections held by a blackhole (they were never forwarded,
 * so the peer's attempt fails and it connects again) and forwards new ones again.
 */
export class TcpProxy {
  private readonly open = new Set<Socket>();
  private readonly held = new Set<Socket>();
  private cutMode: CutMode | undefined;
  private accepted = 0;

  private constructor(
    private readonly server: Server,
    private readonly target: ProxyTarget,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on a free port of 127.0.0.1, forwarding to `target`. */
  static async start(target: ProxyTarget): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, target);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  /** The proxy's own port on 127.0.0.1. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The cut in force, if any. */
  get mode(): CutMode | undefined {
    return this.cutMode;
  }

  /** Connections forwarded now (both ends open). */
  get openConnections(): number {
    return this.open.size / 2;
  }

  /** Connections a blackhole holds now. */
  get heldConnections(): number {
    return this.held.size;
  }

  /** Connections accepted since the start, whatever became of them. */
  get acceptedConnections(): number {
    return this.accepted;
  }

  /** `url` with its host and port replaced by the proxy's (the credentials and database kept). */
  urlThrough(url: string): string {
    const through = new URL(url);
    through.hostname = '127.0.0.1';
    through.port = String(this.port);
    return through.toString();
  }

  /** Cuts the network: every open connection is destroyed, new ones are refused or held. */
  cut(mode: CutMode = 'blackhole'): void {
    this.cutMode = mode;
    for (const socket of [...this.open]) socket.destroy();
    this.open.clear();
  }

  /** Heals the network: connections held by a blackhole are dropped, new ones are forwarded. */
  restore(): void {
    this.cutMode = undefined;
    for (const socket of [...this.held]) socket.destroy();
    this.held.clear();
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const socket of [...this.open, ...this.held]) socket.destroy();
    this.open.clear();
    this.held.clear();
    if (!this.server.listening) return;
    const closed = once(this.server, 'close');
    this.server.close();
    await closed;
  }

  private accept(client: Socket): void {
    this.accepted++;
    // A reset from a peer whose socket we destroy is expected: it must not crash the test process.
    client.on('error', () => client.destroy());
    if (this.cutMode === 'refuse') {
      client.destroy();
      return;
    }
    if (this.cutMode === 'blackhole') {
      // Never read: what the peer sends stays in the kernel's buffers, and no answer ever comes.
      client.pause();
      this.held.add(client);
      client.on('close', () => this.held.delete(client));
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    upstream.on('error', () => upstream.destroy());
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.open.add(socket);
      socket.on('close', () => {
        this.open.delete(socket);
        other.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
