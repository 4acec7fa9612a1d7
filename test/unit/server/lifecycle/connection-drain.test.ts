import { expect } from 'chai';
import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectionDrain } from '../../../../server/src/lifecycle/connection-drain.js';

/** The drain's idle close in these tests (the stack renders nginx's upstream keepalive_timeout + 1 s). */
const IDLE_CLOSE_MS = 600;

/** One GET on `agent`'s keep-alive connection; resolves with the status and the Connection header. */
function get(port: number, agent: Agent): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('server lifecycle: connection drain with keep-alive clients (issue 12)', () => {
  let server: Server;
  let drain: ConnectionDrain;
  let port: number;

  beforeEach(async () => {
    // A handler that answers synchronously, like the liveness fast path.
    server = createServer((_req, res) => res.end('ok'));
    drain = new ConnectionDrain(server, { idleCloseMs: IDLE_CLOSE_MS });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => {
    drain.destroyAll();
    server.close();
  });

  it('keeps an idle keep-alive connection, answers a request on it with Connection: close, refuses new connections, and is done once the client closed it', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(port, agent)).connection).to.equal('keep-alive');
    expect(drain.size).to.equal(1);
    const started = Date.now();
    const drained = drain.drain(5_000);
    await new Promise((r) => setTimeout(r, 100));
    // Still open: a request that nginx writes on it now is answered, not reset.
    expect(drain.size).to.equal(1);
    const during = await get(port, agent);
    expect(during).to.deep.equal({ status: 200, connection: 'close' });
    // The listener is closed: a new connection is refused (nginx retries it on the next replica).
    const fresh = new Agent({ keepAlive: false });
    const refused = await get(port, fresh).then(
      () => null,
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(refused).to.equal('ECONNREFUSED');
    // `Connection: close` closed that connection after its response: nothing left to wait for.
    expect(await drained).to.equal(true);
    expect(Date.now() - started, 'done without waiting for the idle close').to.be.below(IDLE_CLOSE_MS);
    agent.destroy();
  });

  it('leaves an idle keep-alive connection to the client (nginx closes its own) and closes it itself only after idleCloseMs', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await get(port, agent);
    const started = Date.now();
    const drained = drain.drain(5_000);
    await new Promise((r) => setTimeout(r, IDLE_CLOSE_MS / 2));
    expect(drain.size, 'not closed before idleCloseMs').to.equal(1);
    expect(await drained).to.equal(true);
    expect(Date.now() - started).to.be.at.least(IDLE_CLOSE_MS - 10);
    expect(drain.size).to.equal(0);
    agent.destroy();
  });

  it('resolves as soon as the client closes its idle connection (as nginx does after its upstream keepalive_timeout)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await get(port, agent);
    const started = Date.now();
    const drained = drain.drain(5_000);
    setTimeout(() => agent.destroy(), 100);
    expect(await drained).to.equal(true);
    expect(Date.now() - started).to.be.below(IDLE_CLOSE_MS);
  });

  it('lets a request in progress finish past idleCloseMs, answered with Connection: close', async () => {
    server.removeAllListeners('request');
    drain = new ConnectionDrain(server, { idleCloseMs: 100 });
    server.on('request', (_req, res) => setTimeout(() => res.end('slow'), 400));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const pending = get(port, agent);
    await new Promise((r) => setTimeout(r, 50));
    const drained = drain.drain(5_000);
    expect(await pending).to.deep.equal({ status: 200, connection: 'close' });
    expect(await drained).to.equal(true);
    agent.destroy();
  });
});
