/**
 * `carebox console` on the real Docker engine: the dashboard's data layer (stack status through
 * dockerode, `/metrics` scraped from each backend container's IP on the stack network, rates over
 * the window) against an installed stack, plus the no-TTY refusal of the built CLI. The Ink
 * rendering itself is covered by the ink-testing-library tests in test/unit/console/ui.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { requireManifest } from '../../installer/manifest/manifest.js';
import { consoleActions } from '../../console/commands/console.command.js';
import { backendTargets } from '../../console/metrics/metrics.scrape.js';
import { DashboardFeed, dockerDashboardSource } from '../../console/ui/dashboard.feed.js';
import { lineText, metricsPanelLines, serviceRows, serviceTableLines } from '../../console/ui/dashboard.model.js';
import { carebox, freePort, get, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';

describe('e2e: console data layer on the real engine', function () {
  this.timeout(900_000);
  let docker: Docker;
  let root: string;
  let port: number;
  let feed: DashboardFeed;

  before(async () => {
    docker = await requireE2ePrereqs();
    root = join(await mkdtemp(join(tmpdir(), 'carebox-console-e2e-')), 'root');
    port = await freePort();
    const r = await carebox(['install', '--yes', '--json', '--dir', root, '--http-port', String(port), '--bind', '127.0.0.1', '--images', STANDINS]);
    expect(r.code, r.stderr).to.equal(0);
    feed = new DashboardFeed(
      dockerDashboardSource(docker, () => requireManifest(root)),
      { intervalMs: 1000 },
    );
  });

  after(async () => {
    // Always leave the engine clean, whatever failed.
    if (root && existsSync(root)) await carebox(['uninstall', '--dir', root, '--purge', '--yes']);
  });

  it('without a TTY the dashboard never mounts: exit 2 and a pointer to `carebox status --json`', async () => {
    const r = await carebox(['console', '--dir', root]);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.match(/needs an interactive terminal/);
    expect(r.stderr).to.include('carebox status --json');
    expect(r.stdout).to.equal('');
    const j = await carebox(['console', '--json', '--dir', root]);
    expect(j.code).to.equal(2);
    expect(j.json.error.code).to.equal('USAGE');
  });

  it('first refresh: every service with replicas, health, CPU/memory from stats and uptime; the backend answers /metrics directly', async () => {
    const d = await feed.refresh();
    expect(d.statusError).to.equal(null);
    expect(d.metricsError).to.equal(null);
    const status = d.status!;
    expect(status.healthy, JSON.stringify(status.services.map((s) => [s.service, s.state]))).to.equal(true);
    for (const s of status.services) {
      expect(s.ready, s.service).to.equal(s.expected);
      for (const c of s.containers) {
        expect(c.usage, c.name).to.not.equal(null);
        expect(c.usage!.memoryBytes, c.name).to.be.greaterThan(0);
        expect(c.uptimeS, c.name).to.be.a('number').and.at.least(0);
      }
    }
    const backend = status.services.find((s) => s.service === 'backend')!;
    const targets = await backendTargets(docker, status.project);
    expect(targets).to.have.length(backend.containers.length);
    for (const t of targets) expect(t.url, t.reason ?? '').to.match(/^http:\/\/\d+\.\d+\.\d+\.\d+:3000\/metrics$/);
    const m = d.metrics!;
    expect(m.errors).to.deep.equal([]);
    expect(m).to.deep.include({ targets: backend.containers.length, scraped: backend.containers.length, requestRate: null });
    expect(m.pool!.max).to.be.greaterThan(0);
    expect(Object.keys(m.queues)).to.include('system');
    // nginx refuses /metrics at the edge, which is why the console scrapes the containers.
    // Express matches /METRICS, /metrics/ and /%6detrics too; the edge refuses every spelling.
    for (const p of ['/metrics', '/METRICS', '/metrics/', '/Metrics/x', '/%6detrics', '//metrics']) {
      const r = await get(`http://127.0.0.1:${port}${p}`);
      expect(r.status, p).to.equal(404);
      expect(JSON.stringify(r.body), p).to.not.include('http_request');
    }
    // A body over the plan's limit is refused by nginx itself, in the API's JSON error shape.
    const big = await fetch(`http://127.0.0.1:${port}/api/v1/patients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(11 * 1024 * 1024) }),
      signal: AbortSignal.timeout(20_000),
    });
    expect(big.status).to.equal(413);
    expect(big.headers.get('content-type')).to.match(/application\/json/);
    expect(((await big.json()) as { error: { code: string } }).error.code).to.equal('PAYLOAD_TOO_LARGE');
  });

  it('after traffic through nginx: request rate, p95 and 5xx share over the window, and history for the sparklines', async () => {
    for (let i = 0; i < 60; i++) expect((await get(`http://127.0.0.1:${port}/health`)).status).to.equal(200);
    for (let i = 0; i < 5; i++) await get(`http://127.0.0.1:${port}/no-such-page`);
    const d = await feed.refresh();
    const m = d.metrics!;
    const windowS = m.windowS!;
    // With several cluster workers per container, the server merges their registries into one
    // scrape (and says so with carebox_cluster_workers): the counts are the container's.
    const manifest = await requireManifest(root);
    const [target] = await backendTargets(docker, manifest.project);
    if (manifest.plan.sizing.backend.workers > 1) {
      expect(await (await fetch(target!.url!)).text()).to.match(/^carebox_cluster_workers\{state="reporting"\} [1-9]/m);
      expect(m.workersMissing).to.equal(0);
    }
    // 65 requests of ours plus the containers' own healthchecks, over the window.
    expect(m.requestRate! * windowS).to.be.within(65, 65 + 10 * windowS);
    expect(m.p95Seconds).to.be.a('number').and.greaterThan(0).and.lessThan(1);
    expect(m.errorRatio).to.equal(0); // 404s are not 5xx
    expect(d.history.requestRate).to.have.length(2);
    expect(d.history.requestRate[1]).to.equal(m.requestRate);
    expect(d.history.cpuByService.backend).to.have.length(2);

    // The view models turn the real figures into lines that fit an 80-column terminal.
    const table = serviceTableLines(serviceRows(d.status!), 0, 79, d.history.cpuByService).map(lineText);
    const panel = metricsPanelLines(d, 79).map(lineText);
    for (const l of [...table, ...panel]) expect([...l].length, l).to.be.at.most(79);
    expect(table.find((l) => l.includes('backend'))).to.match(/backend\s+1\/1\s+healthy\s+healthy\s+\d+\.\d%\s+[\d.]+ MiB/);
    expect(panel.join('\n')).to.match(/Requests\s+[\d.]+ req\/s/);
  });

  it('the l key’s action reads the demultiplexed logs of every backend replica through the logs op', async () => {
    const lines = await consoleActions({ docker, dir: root }).logs!('backend', 20);
    expect(lines.length).to.be.greaterThan(0);
    for (const l of lines) {
      expect(l).to.match(/^backend#1 \| /);
      // eslint-disable-next-line no-control-regex
      expect(l).to.not.match(/[\x00-\x08]/); // no frame headers left
    }
  });
});
