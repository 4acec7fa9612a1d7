import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import { withLivenessFastPath } from '../../../../server/src/health/liveness.fast-path.js';

describe('server: liveness fast path', () => {
  let server: Server;
  let base: string;
  let passedOn: string[];
  const registry = new Registry();
  const labelNames = ['method', 'route', 'status_code'] as const;
  const httpRequests = new Counter({ name: 't_requests', help: 'h', labelNames, registers: [registry] });
  const httpDuration = new Histogram({ name: 't_duration', help: 'h', labelNames, registers: [registry] });

  before(async () => {
    passedOn = [];
    const app = (req: { method?: string; url?: string }, res: { end: (b: string) => void }) => {
      passedOn.push(`${req.method} ${req.url}`);
      res.end('from app');
    };
    server = createServer(withLivenessFastPath(app as never, { httpRequests, httpDuration }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('answers GET /health itself, as JSON, uncached, and counts it', async () => {
    const r = await fetch(`${base}/health`);
    expect(r.status).to.equal(200);
    expect(await r.json()).to.deep.equal({ status: 'ok' });
    expect(r.headers.get('cache-control')).to.equal('no-store');
    expect(r.headers.get('content-type')).to.match(/application\/json/);
    const head = await fetch(`${base}/health`, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(passedOn).to.deep.equal([]);
    const text = await registry.metrics();
    expect(text).to.match(/t_requests\{method="GET",route="\/health",status_code="200"\} 1/);
  });

  it('passes everything else to the app (other paths, methods, query strings)', async () => {
    for (const [method, path] of [
      ['GET', '/ready'],
      ['POST', '/health'],
      ['GET', '/health?x=1'],
      ['GET', '/api/v1/patients'],
    ] as const) {
      const r = await fetch(`${base}${path}`, { method });
      expect(await r.text()).to.equal('from app');
    }
    expect(passedOn).to.deep.equal(['GET /ready', 'POST /health', 'GET /health?x=1', 'GET /api/v1/patients']);
  });
});
