import { expect } from 'chai';
import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectionDrain, IDLE_KEEPALIVE_GRACE_MS } from '../../../../server/src/lifecycle/connection-drain.js';

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
    drain = new ConnectionDrain(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => {
    drain.destroyAll();
    server.close();
  });

  it('keeps an idle keep-alive connection for the grace period, answers a request on it with Connection: close, and refuses new connections', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(port, agent)).connection).to.equal('keep-alive');
    expect(drain.size).to.equal(1);
    const drained = drain.drain(5_000);
    await new Promise((r) => setTimeout(r, 100));
    // Still open: a request that nginx writes on it now is answered, not reset.
    expect(drain.size).to.equal(1);
    const during = await get(port, agent);
    expect(during).to.deep.equal({ status: 200, connection: 'close' });
    // The listener is closed: a new connection is refused (nginx moves to the next replica).
    const fresh = new Agent({ keepAlive: false });
    const refused = await get(port, fresh).then(() => null, (e: NodeJS.ErrnoException) => e.code);
    expect(refused).to.equal('ECONNREFUSED');
    expect(await drained).to.equal(true);
    agent.destroy();
  });

  it('closes a keep-alive connection that stays idle once the grace period is over', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await get(port, agent);
    const started = Date.now();
    const drained = drain.drain(5_000);
    await new Promise((r) => setTimeout(r, IDLE_KEEPALIVE_GRACE_MS / 2));
    expect(drain.size, 'not closed before the grace period').to.equal(1);
    expect(await drained).to.equal(true);
    expect(Date.now() - started).to.be.at.least(IDLE_KEEPALIVE_GRACE_MS - 10);
    expect(drain.size).to.equal(0);
    agent.destroy();
  });
});
