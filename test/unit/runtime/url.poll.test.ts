import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pollUntil, waitForHttp200 } from '../../../installer/runtime/url.poll.js';
import { UnhealthyError } from '../../../installer/errors.js';

describe('url.poll: waiting for an answer over HTTP', () => {
  let server: Server;
  let base = '';
  let readyAfter = 0;
  let hits = 0;

  before(async () => {
    server = createServer((req, res) => {
      hits += 1;
      if (req.url === '/ready' && hits > readyAfter) res.writeHead(200).end('{"status":"ready"}');
      else res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"starting"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    hits = 0;
  });

  it('retries until the first 200 and returns its body', async () => {
    readyAfter = 2;
    expect(await waitForHttp200(`${base}/ready`, { intervalMs: 10, hint: 'h' })).to.equal('{"status":"ready"}');
    expect(hits).to.equal(3);
  });

  it('times out with the last status and body, and the hint', async () => {
    readyAfter = 1_000;
    const err = await waitForHttp200(`${base}/ready`, { timeoutMs: 100, intervalMs: 10, what: 'the smoke request', hint: 'check the logs' }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(UnhealthyError);
    expect((err as UnhealthyError).message).to.equal('the smoke request did not answer 200: 503 {"status":"starting"}');
    expect((err as UnhealthyError).hint).to.equal('check the logs');
  });

  it('retries a refused connection and reports it', async () => {
    const err = await waitForHttp200('http://127.0.0.1:1/ready', { timeoutMs: 50, intervalMs: 10, hint: 'h' }).catch((e: unknown) => e);
    expect((err as Error).message).to.match(/^http:\/\/127\.0\.0\.1:1\/ready did not answer 200: fetch failed/);
  });

  it('lets the attempt throw what is fatal, without retrying it', async () => {
    let attempts = 0;
    const err = await pollUntil(
      async () => {
        attempts += 1;
        throw new Error('fatal');
      },
      { timeoutMs: 1000, intervalMs: 10, onTimeout: () => new Error('timeout') },
    ).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('fatal');
    expect(attempts).to.equal(1);
  });
});
