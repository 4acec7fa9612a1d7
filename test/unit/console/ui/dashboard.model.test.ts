import { expect } from 'chai';
import {
  fitLine,
  formatCpu,
  formatLatency,
  formatMemory,
  formatRate,
  formatRatio,
  formatUptime,
  headerLine,
  healthSummary,
  lineText,
  metricsPanelLines,
  serviceRows,
  serviceTableLines,
  truncate,
} from '../../../../console/ui/dashboard.model.js';
import type { DashboardHistory } from '../../../../console/ui/dashboard.feed.js';
import { container, sample, service, stack, troubledStack } from './console.fixtures.js';

const width = (s: string) => [...s].length;
const history = (n: number, f: (i: number) => number | null): DashboardHistory => {
  const xs = Array.from({ length: n }, (_, i) => f(i));
  return { requestRate: xs, p95Seconds: xs, errorRatio: xs, poolUsed: xs, queueWaiting: xs, cpuByService: { backend: xs } };
};

describe('console view model: formats', () => {
  it('uptime, memory, CPU, rate, latency and ratio', () => {
    expect([0, 59, 60, 3599, 3600, 3660, 86_399, 90_000].map(formatUptime)).to.deep.equal(['0s', '59s', '1m', '59m', '1h00m', '1h01m', '23h59m', '1d01h']);
    expect(formatUptime(null)).to.equal('—');
    expect([512, 1024, 80 * 1024 ** 2, 1.5 * 1024 ** 3, 300 * 1024 ** 2].map(formatMemory)).to.deep.equal([
      '512 B',
      '1.00 KiB',
      '80.0 MiB',
      '1.50 GiB',
      '300 MiB',
    ]);
    expect(formatMemory(null)).to.equal('—');
    expect([formatCpu(3.21), formatCpu(145), formatCpu(null)]).to.deep.equal(['3.2%', '145.0%', '—']);
    expect([0.456, 3.21, 120.4, null].map(formatRate)).to.deep.equal(['0.46', '3.2', '120', '—']);
    expect([0.0047, 0.045, 1.25, null].map(formatLatency)).to.deep.equal(['4.7 ms', '45 ms', '1.25 s', '—']);
    expect([0, 0.125, null].map(formatRatio)).to.deep.equal(['0.0 %', '12.5 %', '—']);
  });

  it('truncates with an ellipsis and fits segmented lines to a width', () => {
    expect(truncate('abcdef', 4)).to.equal('abc…');
    expect(truncate('abc', 4)).to.equal('abc');
    expect(truncate('abc', 0)).to.equal('');
    const l = fitLine(
      [
        { text: 'hello ', tone: 'plain' },
        { text: 'world', tone: 'ok' },
      ],
      8,
    );
    expect(lineText(l)).to.equal('hello w…');
    expect(l[1]!.tone).to.equal('ok');
  });
});

describe('console view model: service table', () => {
  it('rows for a healthy stack: ready/expected, state, health, summed CPU/memory, uptime', () => {
    const rows = serviceRows(stack());
    const backend = rows.find((r) => r.service === 'backend')!;
    expect(backend).to.deep.include({
      replicas: '1/1',
      state: 'healthy',
      health: 'healthy',
      healthTone: 'ok',
      cpuPercent: 2.5,
      memoryBytes: 80 * 1024 ** 2,
      uptimeS: 300,
    });
  });

  it('degraded and down services: health says why, uptime is the newest container', () => {
    const rows = serviceRows(troubledStack());
    const backend = rows.find((r) => r.service === 'backend')!;
    expect(backend).to.deep.include({ replicas: '1/2', state: 'degraded', health: '1 starting', healthTone: 'warn', cpuPercent: 5, uptimeS: 4 });
    const worker = rows.find((r) => r.service === 'worker')!;
    expect(worker).to.deep.include({ replicas: '0/1', state: 'down', health: 'exited', healthTone: 'bad', cpuPercent: null, memoryBytes: null, uptimeS: null });
  });

  it('health summary: unhealthy first, no containers, no healthcheck', () => {
    expect(healthSummary(service('x', 2, [container('x', 1, { health: 'unhealthy' }), container('x', 2, { health: 'starting' })]))).to.deep.equal({
      text: '1 unhealthy',
      tone: 'bad',
    });
    expect(healthSummary(service('x', 1, []))).to.deep.equal({ text: '—', tone: 'bad' });
    expect(healthSummary(service('x', 0, []))).to.deep.equal({ text: '—', tone: 'dim' });
    expect(healthSummary(service('x', 1, [container('x', 1, { health: 'none' })]))).to.deep.equal({ text: 'no check', tone: 'dim' });
    expect(healthSummary(service('x', 2, [container('x', 1, { state: 'exited' }), container('x', 2, { state: 'dead' })]))).to.deep.equal({
      text: '2 not running',
      tone: 'bad',
    });
  });

  it('lines never exceed the width (80, 60, 40 columns); ▶ marks the selection; a CPU trend column when room allows', () => {
    const rows = serviceRows(troubledStack());
    for (const w of [79, 60, 40]) {
      const lines = serviceTableLines(rows, 2, w, history(150, (i) => i % 7).cpuByService).map(lineText);
      expect(lines).to.have.length(rows.length + 1);
      for (const l of lines) expect(width(l), `${w}: ${l}`).to.be.at.most(w);
      expect(lines[3]!.startsWith('▶ ')).to.equal(true);
      expect(lines[1]!.startsWith('  ')).to.equal(true);
    }
    const wide = serviceTableLines(rows, 0, 79, history(150, (i) => i % 7).cpuByService).map(lineText);
    expect(wide[0]).to.match(/SERVICE\s+READY\s+STATE\s+HEALTH\s+CPU\s+MEMORY\s+UP CPU trend/);
    const backendLine = wide.find((l) => l.includes('backend'))!;
    expect(backendLine).to.match(/backend\s+1\/2\s+degraded\s+1 starting\s+5\.0%\s+160 MiB\s+4s [▁▂▃▄▅▆▇█ ]+$/);
    expect(serviceTableLines(rows, 0, 40).map(lineText)[0]).to.not.include('CPU trend');
  });
});

describe('console view model: metrics panel', () => {
  const data = (over: Partial<Parameters<typeof metricsPanelLines>[0]> = {}) => ({
    metrics: sample(),
    metricsError: null,
    history: history(150, (i) => i),
    intervalS: 2,
    ...over,
  });

  it('request rate, p95, 5xx, pool, queues, each with a sparkline, within 79 columns', () => {
    const lines = metricsPanelLines(data(), 79).map(lineText);
    expect(lines[0]).to.equal('Backend metrics (/metrics, last 5 min)');
    expect(lines[1]).to.match(/^Requests\s+12 req\/s\s+[▁▂▃▄▅▆▇█]+$/);
    expect(lines[2]).to.match(/^Latency p95\s+45 ms\s+[▁▂▃▄▅▆▇█]+$/);
    expect(lines[3]).to.match(/^Errors 5xx\s+1\.0 %\s+/);
    expect(lines[4]).to.match(/^DB pool\s+2\/10 used · 3 free · 0 wait\s+/);
    expect(lines[5]).to.match(/^Jobs waiting\s+3\s+/);
    expect(lines[6]).to.match(/^ {2}system\s+waiting 3 · active 1 · delayed 0 · failed 0$/);
    for (const l of lines) expect(width(l)).to.be.at.most(79);
    // 150 samples squeezed into the spark columns, rising left to right
    expect(lines[1]!.endsWith('█')).to.equal(true);
    expect(lines[1]).to.include('▁');
  });

  it('before the first scrape, without backends, when no backend answered, when scraping failed', () => {
    expect(lineText(metricsPanelLines(data({ metrics: null }), 79)[1]!)).to.equal('waiting for the first scrape…');
    expect(lineText(metricsPanelLines(data({ metrics: sample({ targets: 0, scraped: 0 }) }), 79)[1]!)).to.equal('no running backend container to scrape');
    expect(lineText(metricsPanelLines(data({ metrics: sample({ targets: 1, scraped: 0, errors: ['carebox-backend-1: ECONNREFUSED'] }) }), 79)[1]!)).to.equal(
      'no backend answered /metrics: carebox-backend-1: ECONNREFUSED',
    );
    expect(lineText(metricsPanelLines(data({ metricsError: 'connect EACCES /var/run/docker.sock' }), 79)[1]!)).to.match(/^metrics unavailable: connect EACCES/);
  });

  it('Redis unreachable (no queue series), many queues, partial scrape', () => {
    expect(metricsPanelLines(data({ metrics: sample({ queues: {} }) }), 79).map(lineText)[5]).to.match(/^Jobs waiting\s+— \(Redis unreachable\)/);
    const queues = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((q) => [q, { waiting: 1 }]));
    const lines = metricsPanelLines(data({ metrics: sample({ queues, targets: 2, scraped: 1, errors: ['c2: timeout'] }) }), 79, 2).map(lineText);
    expect(lines.filter((l) => /^ {2}[a-e] /.test(l))).to.have.length(2);
    expect(lines).to.include('  … 3 more queues');
    expect(lines.at(-1)).to.equal('scraped 1/2 backends; c2: timeout');
    const long = metricsPanelLines(data({ metrics: sample({ queues: { notifications: { waiting: 2, active: 0, delayed: 0, failed: 0 } } }) }), 79).map(
      lineText,
    );
    expect(long).to.include('  notificati… waiting 2 · active 0 · delayed 0 · failed 0');
    const partial = metricsPanelLines(data({ metrics: sample({ workersMissing: 1 }) }), 79).map(lineText);
    expect(partial.at(-1)).to.equal('1 web worker did not answer the scrape: figures are partial');
  });
});

describe('console view model: header', () => {
  it('project, tier, overall state and URL; the read error when there is no status', () => {
    expect(lineText(headerLine(stack(), null, 200))).to.equal('Carebox carebox-root-abc123 · tier default · healthy · http://127.0.0.1:8080/');
    expect(lineText(headerLine(troubledStack(), null, 200))).to.match(/· 1 down ·/);
    expect(lineText(headerLine(null, 'permission denied', 200))).to.equal('Carebox: cannot read the stack: permission denied');
    expect(width(lineText(headerLine(stack(), 'engine gone', 40)))).to.be.at.most(40);
  });
});
