import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TcpProxy } from './tcp-proxy';
import { waitUntil } from './wait-until';

/** The proxy the database-cut e2e puts between a process and PostgreSQL: forwards, cuts, heals. */

/** An upstream that echoes what it reads, and counts the connections it got. */
async function echoServer(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

/** A client through the proxy: what it received, and whether it closed. */
async function client(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => socket.destroy());
  socket.on('close', () => (closed = true));
  await once(socket, 'connect');
  return { socket, received: () => received, closed: () => closed };
}

describe('TcpProxy', () => {
  let upstream: Awaited<ReturnType<typeof echoServer>>;
  let proxy: TcpProxy;
  const sockets: Socket[] = [];

  beforeEach(async () => {
    upstream = await echoServer();
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: upstream.port });
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await proxy.close();
    upstream.server.close();
  });

  const through = async () => {
    const c = await client(proxy.port);
    sockets.push(c.socket);
    return c;
  };

  it('forwards both ways, and rewrites a url to go through it', async () => {
    const c = await through();
    c.socket.write('ping');
    await waitUntil(() => c.received() === 'ping', { what: 'the echo through the proxy' });
    expect(proxy.openConnections).toBe(1);
    expect(proxy.urlThrough('postgres://u:p@127.0.0.1:5432/db')).toBe(
      `postgres://u:p@127.0.0.1:${proxy.port}/db`,
    );
  });

  it('refuse: open connections are destroyed and new ones closed at once; restore forwards again', async () => {
    const before = await through();
    proxy.cut('refuse');
    await waitUntil(() => before.closed(), { what: 'the open connection to be cut' });
    const during = await through();
    during.socket.write('lost');
    await waitUntil(() => during.closed(), { what: 'a new connection to be refused' });
    expect(during.received()).toBe('');
    expect(upstream.connections()).toBe(1);
    proxy.restore();
    const after = await through();
    after.socket.write('back');
    await waitUntil(() => after.received() === 'back', { what: 'the echo after the restore' });
  });

  it('blackhole: new connections are accepted and held, never forwarded, and dropped at the restore', async () => {
    const before = await through();
    proxy.cut('blackhole');
    await waitUntil(() => before.closed(), { what: 'the open connection to be cut' });
    const during = await through();
    during.socket.write('lost');
    await waitUntil(() => proxy.heldConnections === 1, { what: 'the proxy to hold the new connection' });
    // Held, not forwarded: the upstream never saw a second connection, and the peer is still open.
    expect(upstream.connections()).toBe(1);
    expect(during.closed()).toBe(false);
    expect(proxy.mode).toBe('blackhole');
    proxy.restore();
    await waitUntil(() => during.closed(), { what: 'the held connection to be dropped at the restore' });
    expect(during.received()).toBe('');
    const after = await through();
    after.socket.write('back');
    await waitUntil(() => after.received() === 'back', { what: 'the echo after the restore' });
    expect(upstream.connections()).toBe(2);
  });
});
