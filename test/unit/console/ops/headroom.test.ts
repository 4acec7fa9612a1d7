import { expect } from 'chai';
import { hypotheticalHost } from '../../../../installer/plan/hypothetical.host.js';
import { buildIntent } from '../../../../installer/plan/intent.js';
import { planCarebox } from '../../../../installer/plan/tier.plan.js';
import { resizeReplicas } from '../../../../installer/plan/scale.resize.js';
import { countApiRequests, formatHeadroom, headroom, overcommitReasons } from '../../../../console/ops/headroom.js';
import { actionsText, headerLine, metricsPanelLines, lineText } from '../../../../console/ui/dashboard.model.js';

const GiB = 1024 ** 3;

describe('headroom: load of the last minute against capacity, in the same unit', () => {
  it('counts API requests of nginx access-log lines (Carebox log format) within the window', () => {
    const t = Date.parse('2026-12-07T13:00:30Z');
    const log = [
      '172.18.0.1 [2026-12-07T13:00:00+00:00] "GET /api/v1/patients" 200 512 0.004 0.004 id=a',
      '172.18.0.1 [2026-12-07T12:59:00+00:00] "GET /api/v1/patients" 200 512 0.004 0.004 id=b',
      '172.18.0.1 [2026-12-07T13:00:10+00:00] "POST /api/v1/appointments" 201 80 0.010 0.010 id=c',
      '172.18.0.1 [2026-12-07T13:00:11+00:00] "GET /ready" 200 40 0.001 0.001 id=d',
      'nginx: [notice] signal process started',
    ].join('\n');
    expect(countApiRequests(log, t - 60_000)).to.equal(2);
  });

  it('turns requests into actions/s and sessions into a share of the capacity (estimate, then the proven measurement)', () => {
    const plan = planCarebox(hypotheticalHost(2, 4 * GiB), buildIntent({}));
    const h = headroom(plan, { requests: 60 * 17, activeSessions: 100 });
    expect(h.actionsPerSecond).to.equal(10); // 17 req/s ÷ 1.7 requests per action
    expect(h.capacity.source).to.equal('estimated');
    expect(h.capacity.actionsPerSecond).to.equal(plan.capacity.actionsPerSecond![0]);
    expect(h.actionsPercent).to.equal(Math.round((10 / h.capacity.actionsPerSecond) * 1000) / 10);
    expect(h.sessionsPercent).to.equal(Math.round((100 / plan.capacity.concurrentUsers[0]) * 1000) / 10);
    expect(formatHeadroom(h)).to.match(
      /^Load \(last 60 s\): 10 actions\/s \([\d.]+ % of [\d.]+\), 100 active sessions \([\d.]+ % of \d+ active staff \(one action every 30 s\)\); capacity estimated$/,
    );
    const measured = {
      ...plan,
      capacity: {
        ...plan.capacity,
        measured: {
          concurrentUsers: 3000,
          actionsPerSecond: 100,
          requestsPerSecond: 170,
          responseTimeS: 0.1,
          thinkTimeS: 29.8,
          p95Ms: 150,
          measuredAt: '2026-12-07T13:30:00Z',
        },
      },
    };
    const m = headroom(measured, { requests: 60 * 17, activeSessions: 300 });
    expect(m.capacity).to.deep.include({ source: 'measured', actionsPerSecond: 100, staff: 3000 });
    expect(m.actionsPercent).to.equal(10);
    expect(m.sessionsPercent).to.equal(10);
    expect(headroom(plan, { requests: null, activeSessions: null }).actionsPercent).to.equal(null);
  });

  it('says when the stack runs overcommitted (a scale with --overcommit), in status and the console header', () => {
    const plan = planCarebox(hypotheticalHost(2, 4 * GiB), buildIntent({ tier: 'optimized' }));
    expect(overcommitReasons(plan)).to.deep.equal([]);
    const host = { cpus: 2, memoryLimitBytes: plan.budget.memoryBytes.limit };
    const scaled = resizeReplicas(plan, { backend: 2 }, host, { overcommit: true }).plan;
    const why = overcommitReasons(scaled);
    expect(why.join(' ')).to.match(/web\/queue processes on 2 usable CPUs/);
    const status = {
      project: 'p',
      tier: 'optimized',
      url: 'http://127.0.0.1:8080/',
      healthy: true,
      services: [],
      load: headroom(scaled, { requests: 0, activeSessions: 0 }),
    };
    expect(lineText(headerLine(status, null, 80))).to.include('overcommitted');
  });

  it('the console shows actions/s over the last minute and the sessions share', () => {
    const plan = planCarebox(hypotheticalHost(2, 4 * GiB), buildIntent({}));
    const load = headroom(plan, { requests: null, activeSessions: 42 });
    expect(actionsText([null, 17, 17, 17], 2, load)).to.match(/^ · 10 act\/s \d+ %$/);
    const metrics = { targets: 1, scraped: 1, errors: [], requestRate: 17, p95Seconds: 0.02, errorRatio: 0, pool: null, queues: {}, workersMissing: 0 };
    const history = { requestRate: [17, 17], p95Seconds: [0.02, 0.02], errorRatio: [0, 0], poolUsed: [0, 0], queueWaiting: [0, 0], cpuByService: {} };
    const lines = metricsPanelLines(
      {
        metrics: metrics as never,
        metricsError: null,
        history: history as never,
        intervalS: 2,
        status: { project: 'p', tier: 'default', url: 'u', healthy: true, services: [], load },
      },
      80,
    ).map(lineText);
    expect(lines[0]).to.match(/42 sessions = [\d.]+ % of \d+ staff/);
    expect(lines[1]).to.match(/17 req\/s · 10 act\/s \d+ %/);
  });
});
