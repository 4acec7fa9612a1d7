import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { arrivalOffsetsMs, runOpenLoad, runStaffLoad, type Action } from '../../../../console/ops/loadtest.open.js';

/**
 * A real HTTP server in its own process (a stall there must not stall the load generator's event
 * loop): answers every request after 50 ms; with STALL_AT=n, the n-th request blocks the whole
 * server for 1 s (a busy loop, like a long GC pause or a synchronous hash).
 */
const SERVER = `
const http = require('node:http');
let n = 0;
const stallAt = Number(process.env.STALL_AT || 0);
const s = http.createServer((req, res) => {
  n += 1;
  if (n === stallAt) { const until = Date.now() + 1000; while (Date.now() < until) {} }
  setTimeout(() => { res.writeHead(req.url.startsWith('/fail') ? 500 : 200, { 'content-type': 'text/plain' }); res.end('ok'); }, 50);
});
s.keepAliveTimeout = 30000;
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

async function startServer(stallAt: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', SERVER], { env: { ...process.env, STALL_AT: String(stallAt) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${chunk.toString().trim()}`, child };
}

const get: Action = async (send) => {
  await send({ method: 'GET', path: '/' });
};

describe('loadtest: open model (latency from the intended start)', function () {
  this.timeout(20_000);
  const children: ChildProcess[] = [];
  after(() => children.forEach((c) => c.kill()));

  it('a server that stalls for 1 s under a fixed arrival rate shows p99 ≥ 1 s', async () => {
    // 100 actions/s for 2 s; the 30th request (≈ 0.3 s in) blocks the server for 1 s. About 100
    // arrivals fall into the stall and each waits for the rest of it: measured from the intended
    // start they are slow, whereas a closed-loop client would simply not have sent them.
    const { url, child } = await startServer(30);
    children.push(child);
    const s = await runOpenLoad({ url, ratePerS: 100, durationS: 2, nextAction: () => get });
    expect(s.actionsStarted).to.equal(200);
    expect(s.errors.total).to.equal(0);
    expect(s.latency.p99, `p99 ${s.latency.p99} ms`).to.be.at.least(1000);
    // Not just a few samples: the arrivals during the stall carry it, so p95 is far above the 50 ms service time.
    expect(s.latency.p95, `p95 ${s.latency.p95} ms`).to.be.above(500);
  });

  it('without a stall, latency is the service time and the rate is what was asked', async () => {
    const { url, child } = await startServer(0);
    children.push(child);
    const s = await runOpenLoad({ url, ratePerS: 50, durationS: 2, nextAction: () => get });
    expect(s.actionsCompleted).to.equal(100);
    // The 50 ms service time and little more (generous: the machine may be shared with other work).
    expect(s.latency.p50).to.be.within(50, 1000);
    expect(s.actionResponseTimeS).to.be.within(0.05, 1);
  });

  it('counts non-2xx answers as errors and ends the action there', async () => {
    const { url, child } = await startServer(0);
    children.push(child);
    const twoSteps: Action = async (send) => {
      await send({ method: 'GET', path: '/fail' });
      await send({ method: 'GET', path: '/' });
    };
    const s = await runOpenLoad({ url, ratePerS: 20, durationS: 1, nextAction: () => twoSteps });
    expect(s.errors.non2xx).to.equal(20);
    expect(s.requests).to.equal(20);
    expect(s.actionsCompleted).to.equal(0);
    expect(s.errors.rate).to.equal(1);
  });

  it('virtual staff pause between actions: N staff with think time Z act at about N / (R + Z) per second', async () => {
    const { url, child } = await startServer(0);
    children.push(child);
    const s = await runStaffLoad({ url, staff: 40, durationS: 3, nextAction: () => get, thinkTimeS: () => 0.45 });
    // Little's law: 40 / (0.05 + 0.45) = 80 actions/s (minus the first pause of each person).
    expect(s.actionsPerSecond).to.be.within(40, 90);
    expect(s.errors.total).to.equal(0);
  });

  it('random arrivals are a Poisson process with exactly rate × duration arrivals (exponential gaps), even ones are 1 / rate apart', () => {
    let seed = 7;
    const rng = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const r = arrivalOffsetsMs(20_000, 100_000, 'random', rng);
    expect(r.length).to.equal(20_000);
    const gaps = Array.from(r.slice(1), (x, i) => x - r[i]!);
    expect(gaps.every((g) => g >= 0)).to.equal(true);
    expect(r[r.length - 1]).to.be.below(100_000);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    // Exponential gaps: mean 1 / rate (5 ms) and a standard deviation equal to the mean.
    expect(mean).to.be.within(4.9, 5.1);
    expect(sd / mean).to.be.within(0.95, 1.05);
    const e = arrivalOffsetsMs(4, 1000, 'even');
    expect(Array.from(e)).to.deep.equal([0, 250, 500, 750]);
  });

  it('targets loopback only', async () => {
    let err: Error | null = null;
    await runOpenLoad({ url: 'http://10.0.0.1:80', ratePerS: 1, durationS: 1, nextAction: () => get }).catch((e: Error) => (err = e));
    expect(err).to.be.instanceOf(Error);
  });
});
