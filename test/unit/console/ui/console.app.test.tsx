import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { render as inkRender } from 'ink';
import { render } from 'ink-testing-library';
import { ConsoleApp } from '../../../../console/ui/console.app.js';
import { DashboardFeed, type DashboardSource } from '../../../../console/ui/dashboard.feed.js';
import { MetricsPanel } from '../../../../console/ui/metrics.panel.js';
import { ServiceTable } from '../../../../console/ui/service.table.js';
import { serviceRows } from '../../../../console/ui/dashboard.model.js';
import type { ServerSnapshot } from '../../../../console/metrics/metrics.snapshot.js';
import type { StackStatus } from '../../../../console/ops/status.ops.js';
import { recordingActions } from './recording.actions.js';
import { sample, stack, troubledStack } from './console.fixtures.js';

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

/**
 * Wait until the last frame matches (the machine is shared and busy: no fixed sleeps for asserts),
 * then a moment more: Ink paints a frame before the effects that attach its key handlers run.
 */
async function until(app: { lastFrame(): string | undefined }, re: RegExp, timeoutMs = 5000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const frame = app.lastFrame() ?? '';
    if (re.test(frame)) {
      await tick(40);
      return frame;
    }
    if (Date.now() > end) throw new Error(`no frame matched ${re} within ${timeoutMs} ms; last frame:\n${frame}`);
    await tick(10);
  }
}
const KEY = { up: '\u001B[A', down: '\u001B[B', right: '\u001B[C', left: '\u001B[D', enter: '\r', esc: '\u001B' };

/** A feed over an in-memory source whose request counter grows a little more each round. */
function feedOf(status: () => StackStatus, opts: { scrape?: boolean; historyMs?: number } = {}): DashboardFeed {
  let round = 0;
  let requests = 0;
  const source: DashboardSource = {
    status: async () => status(),
    scrape: async () => {
      round += 1;
      requests += round * 4;
      if (opts.scrape === false) return [];
      const snapshot: ServerSnapshot = {
        requests,
        errors5xx: round,
        buckets: [
          { le: 0.025, count: requests - round },
          { le: 0.1, count: requests },
          { le: Infinity, count: requests },
        ],
        pool: { used: round % 3, free: 2, pending: 0, max: 10 },
        queues: { system: { waiting: round, active: 1, delayed: 0, succeeded: 9, failed: 0 } },
        workers: null,
      };
      return [{ target: 'b1', name: 'carebox-backend-1', atMs: round * 2000, snapshot, error: null }];
    },
  };
  let t = 0;
  return new DashboardFeed(source, { intervalMs: 2000, historyMs: opts.historyMs, now: () => (t += 2000) });
}

async function refreshed(feed: DashboardFeed, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await feed.refresh();
}

describe('ui: console dashboard (ink-testing-library)', function () {
  this.timeout(15_000);
  it('service table shows healthy, degraded and down services with replicas, health, CPU, memory, uptime', () => {
    const app = render(<ServiceTable rows={serviceRows(troubledStack())} selected={0} width={79} />);
    try {
      const frame = app.lastFrame()!;
      expect(frame).to.match(/▶ db\s+1\/1\s+healthy\s+healthy\s+1\.2%\s+120 MiB\s+5m/);
      expect(frame).to.match(/backend\s+1\/2\s+degraded\s+1 starting\s+5\.0%\s+160 MiB\s+4s/);
      expect(frame).to.match(/worker\s+0\/1\s+down\s+exited\s+—\s+—\s+—/);
    } finally {
      app.unmount();
    }
  });

  it('metrics panel shows rate, p95, errors, pool and queues with sparklines', () => {
    const xs = Array.from({ length: 60 }, (_, i) => i);
    const history = { requestRate: xs, p95Seconds: xs, errorRatio: xs, poolUsed: xs, queueWaiting: xs, cpuByService: {} };
    const app = render(<MetricsPanel data={{ metrics: sample(), metricsError: null, history, intervalS: 2 }} width={79} />);
    try {
      const frame = app.lastFrame()!;
      expect(frame).to.match(/Requests\s+12 req\/s\s+▁[▁▂▃▄▅▆▇█]+█/);
      expect(frame).to.match(/Latency p95\s+45 ms\s+▁/);
      expect(frame).to.match(/Errors 5xx\s+1\.0 %/);
      expect(frame).to.match(/DB pool\s+2\/10 used · 3 free · 0 wait/);
      expect(frame).to.match(/system\s+waiting 3 · active 1 · delayed 0 · failed 0/);
    } finally {
      app.unmount();
    }
  });

  it('the dashboard fills in from the feed: header, table, metrics after two rounds, key help', async () => {
    const feed = feedOf(() => stack());
    const app = render(<ConsoleApp feed={feed} actions={recordingActions()} onExit={() => undefined} size={{ columns: 80, rows: 24 }} />);
    try {
      await until(app, /Carebox: reading the stack…/);
      expect(app.lastFrame()).to.match(/waiting for the first scrape…/);
      await refreshed(feed, 3);
      const frame = await until(app, /Latency p95\s+\d+ ms/);
      expect(frame).to.match(/Carebox carebox-root-abc123 · tier default · healthy/);
      expect(frame).to.match(/▶ db\s+1\/1\s+healthy/);
      expect(frame).to.match(/Requests\s+\d+(\.\d+)? req\/s\s+[▁▂▃▄▅▆▇█ ]+/);
      expect(frame).to.match(/Latency p95\s+\d+ ms/);
      expect(frame).to.match(/s scale · r restart · l logs · t re-tier · ↑↓\/jk select · q quit/);
    } finally {
      app.unmount();
    }
  });

  it('does not re-render when a refresh brings the same picture', async () => {
    // Two samples of history: once it is full, constant figures draw the same sparklines.
    const feed = feedOf(() => stack(), { scrape: false, historyMs: 4000 });
    const app = render(<ConsoleApp feed={feed} actions={recordingActions()} onExit={() => undefined} size={{ columns: 80, rows: 24 }} />);
    try {
      await refreshed(feed, 2);
      await until(app, /no running backend container to scrape/);
      await tick(100);
      const before = app.frames.length;
      await refreshed(feed, 3); // same status, no backends: nothing visible changes
      await tick(100);
      expect(app.frames.length).to.equal(before);
    } finally {
      app.unmount();
    }
  });

  it('arrows and j/k move the selection; q quits with 0', async () => {
    let code = -1;
    const feed = feedOf(() => stack());
    await refreshed(feed, 1);
    const app = render(<ConsoleApp feed={feed} actions={recordingActions()} onExit={(c) => (code = c)} size={{ columns: 80, rows: 24 }} />);
    try {
      await until(app, /▶ db/);
      app.stdin.write(KEY.down);
      await until(app, /▶ redis/);
      app.stdin.write('j');
      await until(app, /▶ backend/);
      app.stdin.write('k');
      await until(app, /▶ redis/);
      app.stdin.write(KEY.up);
      await until(app, /▶ db/);
      app.stdin.write(KEY.up); // stays on the first row
      await tick(60);
      expect(app.lastFrame()).to.match(/▶ db/);
      app.stdin.write('q');
      for (let i = 0; i < 100 && code === -1; i++) await tick(10);
      expect(code).to.equal(0);
    } finally {
      app.unmount();
    }
  });

  it('s on backend: count prompt → confirmation → progress → back to the dashboard with the result', async () => {
    const actions = recordingActions({ stepMs: 300 });
    const feed = feedOf(() => stack());
    await refreshed(feed, 2);
    const app = render(<ConsoleApp feed={feed} actions={actions} onExit={() => undefined} size={{ columns: 80, rows: 24 }} />);
    try {
      await tick();
      app.stdin.write('j');
      await tick();
      app.stdin.write('j'); // backend
      await tick();
      app.stdin.write('s');
      await until(app, /Replicas of backend \(now 1\): ◀ 1 ▶/);
      app.stdin.write(KEY.right);
      await tick();
      app.stdin.write(KEY.right);
      await until(app, /◀ 3 ▶/);
      app.stdin.write(KEY.enter);
      const confirm = await until(app, /Scale backend from 1 to 3 replicas\? \(y\/N\)/);
      expect(confirm).to.match(/DB connections after: 42 of 100/);
      expect(actions.calls).to.deep.equal([['previewScale', 'backend', 3]]); // nothing done before the confirmation
      app.stdin.write('y');
      await until(app, /Scale backend/);
      await until(app, /✓ Check the budgets — fits/);
      await until(app, /✓ scaled backend to 3/);
      expect(actions.calls).to.deep.equal([
        ['previewScale', 'backend', 3],
        ['scale', 'backend', 3],
      ]);
      const frame = app.lastFrame()!;
      expect(frame).to.match(/✓ scaled backend to 3/);
      expect(frame).to.match(/Requests/); // the metrics panel is back
      expect(frame).to.match(/s scale · r restart/);
    } finally {
      app.unmount();
    }
  });

  it('declining (n) or Esc changes nothing', async () => {
    const actions = recordingActions();
    const feed = feedOf(() => stack());
    await refreshed(feed, 1);
    const app = render(<ConsoleApp feed={feed} actions={actions} onExit={() => undefined} size={{ columns: 80, rows: 24 }} />);
    try {
      await tick();
      app.stdin.write('r');
      await until(app, /Restart db\? \(y\/N\)/);
      app.stdin.write('n');
      await until(app, /restart cancelled: nothing changed/);
      app.stdin.write('t');
      await until(app, /❯ default — 1 backend, nginx.*\(current\)/);
      app.stdin.write(KEY.esc);
      await until(app, /re-tier cancelled: nothing changed/);
      expect(actions.calls).to.deep.equal([]);
    } finally {
      app.unmount();
    }
  });

  it('a second key typed before the prompt shows starts nothing more', async () => {
    const actions = recordingActions();
    const feed = feedOf(() => stack());
    await refreshed(feed, 1);
    const app = render(<ConsoleApp feed={feed} actions={actions} onExit={() => undefined} size={{ columns: 80, rows: 24 }} />);
    try {
      await until(app, /▶ db/);
      app.stdin.write('r');
      app.stdin.write('r');
      app.stdin.write('q');
      await until(app, /Restart db\? \(y\/N\)/);
      app.stdin.write('y');
      await until(app, /✓ restarted db/);
      expect(actions.calls).to.deep.equal([['restart', 'db']]);
    } finally {
      app.unmount();
    }
  });

  it('a scale the budgets refuse shows the reason and the hint, then the dashboard', async () => {
    const actions = recordingActions({ failScale: 'budget' });
    const feed = feedOf(() => stack({}));
    await refreshed(feed, 1);
    const app = render(<ConsoleApp feed={feed} actions={actions} onExit={() => undefined} size={{ columns: 100, rows: 30 }} />);
    try {
      await until(app, /▶ db/);
      for (const [k, next] of [
        ['j', /▶ redis/],
        ['j', /▶ backend/],
        ['s', /◀ 1 ▶/],
        [KEY.right, /◀ 2 ▶/],
      ] as const) {
        app.stdin.write(k);
        await until(app, next);
      }
      app.stdin.write(KEY.enter);
      await until(
        app,
        /✗ scale backend to 2 refused: scaling backend 1 → 2 does not fit the plan's budgets on this host:\n\s+✗ DB connections: 130 > 100 \(\+1 more\)\n\s+hint: choose fewer replicas/,
      );
      expect(actions.calls).to.deep.equal([['previewScale', 'backend', 2]]);
      expect(app.lastFrame()).to.match(/s scale · r restart/);
    } finally {
      app.unmount();
    }
  });

  it("at 80 columns a refusal's reason wraps instead of being cut, and the screen still fits 24 rows", async () => {
    const actions = recordingActions({ failScale: 'budget' });
    const feed = feedOf(() => stack({}));
    await refreshed(feed, 1);
    const app = render(<ConsoleApp feed={feed} actions={actions} onExit={() => undefined} size={{ columns: 80, rows: 24 }} />);
    try {
      await until(app, /▶ db/);
      for (const [k, next] of [
        ['j', /▶ redis/],
        ['j', /▶ backend/],
        ['s', /◀ 1 ▶/],
        [KEY.right, /◀ 2 ▶/],
      ] as const) {
        app.stdin.write(k);
        await until(app, next);
      }
      app.stdin.write(KEY.enter);
      const frame = await until(app, /hint: choose fewer replicas/);
      const lines = frame.split('\n');
      expect(lines.length).to.be.at.most(23);
      for (const l of lines) expect([...l].length, l).to.be.at.most(80);
      expect(frame).to.not.include('…');
      // The whole reason, across its wrapped lines: "✗ scale backend to 2 refused: … on this host:".
      expect(frame.replace(/\n\s+/g, ' ')).to.include("✗ scale backend to 2 refused: scaling backend 1 → 2 does not fit the plan's budgets on this host:");
      expect(frame).to.match(/^ {2}✗ DB connections: 130 > 100 \(\+1 more\)$/m);
    } finally {
      app.unmount();
    }
  });

  it('t: choose a tier, see the preview, confirm, re-tier', async () => {
    const actions = recordingActions();
    const feed = feedOf(() => stack());
    await refreshed(feed, 1);
    const app = render(<ConsoleApp feed={feed} actions={actions} onExit={() => undefined} size={{ columns: 80, rows: 24 }} />);
    try {
      await until(app, /▶ db/);
      app.stdin.write('t');
      await until(app, /❯ default/);
      app.stdin.write(KEY.down);
      await until(app, /❯ optimized/);
      app.stdin.write('j');
      await until(app, /❯ horizontal/);
      app.stdin.write(KEY.enter);
      const frame = await until(app, /Re-tier from default to horizontal/);
      expect(frame).to.match(/backend replicas 1 → 2/);
      expect(actions.calls).to.deep.equal([['previewRetier', 'horizontal']]);
      app.stdin.write('y');
      await until(app, /✓ re-tiered to horizontal/);
      expect(actions.calls).to.deep.equal([
        ['previewRetier', 'horizontal'],
        ['retier', 'horizontal'],
      ]);
    } finally {
      app.unmount();
    }
  });

  it('l: confirm (Enter = yes), the log tail fits the screen, q returns', async () => {
    const actions = recordingActions();
    const feed = feedOf(() => stack());
    await refreshed(feed, 1);
    const app = render(
      <ConsoleApp feed={feed} actions={actions} onExit={() => undefined} size={{ columns: 80, rows: 24 }} logTail={100} logsRefreshMs={10_000} />,
    );
    try {
      await tick();
      app.stdin.write('l');
      await until(app, /Show the last 100 log lines of db\? \(Y\/n\)/);
      app.stdin.write(KEY.enter);
      const frame = await until(app, /Logs of db — last 20 of 40 lines/);
      expect(frame).to.match(/db log line 40/);
      expect(frame).to.not.match(/db log line 20\b/);
      for (const line of frame.split('\n')) expect([...line].length).to.be.at.most(80);
      app.stdin.write('q');
      await until(app, /s scale · r restart/);
      expect(actions.calls).to.deep.equal([['logs', 'db', 100]]);
    } finally {
      app.unmount();
    }
  });

  it('keys that arrive in one write (a fast typist, ssh) each count: jj, --, a digit and Enter', async () => {
    const actions = recordingActions();
    const feed = feedOf(() => stack());
    await refreshed(feed, 1);
    const app = render(<ConsoleApp feed={feed} actions={actions} onExit={() => undefined} size={{ columns: 80, rows: 24 }} />);
    try {
      await until(app, /▶ db/);
      app.stdin.write('jj');
      await until(app, /▶ backend/);
      app.stdin.write('jjk');
      await until(app, /▶ worker/);
      app.stdin.write('k');
      await until(app, /▶ backend/);
      app.stdin.write('s');
      await until(app, /Replicas of backend \(now 1\): ◀ 1 ▶/);
      app.stdin.write('8');
      await until(app, /◀ 8 ▶/);
      app.stdin.write('--');
      await until(app, /◀ 6 ▶/);
      app.stdin.write('3\r'); // a digit and Enter in one write
      await until(app, /Scale backend from 1 to 3 replicas\? \(y\/N\)/);
      expect(actions.calls).to.deep.equal([['previewScale', 'backend', 3]]);
    } finally {
      app.unmount();
    }
  });

  it('a confirmation shows its hint once: "(Y/n)", not "(Y/n) Y/n"', async () => {
    const feed = feedOf(() => stack());
    await refreshed(feed, 1);
    const app = render(<ConsoleApp feed={feed} actions={recordingActions()} onExit={() => undefined} size={{ columns: 80, rows: 24 }} />);
    try {
      await until(app, /▶ db/);
      app.stdin.write('l');
      const frame = await until(app, /Show the last \d+ log lines of db\? \(Y\/n\)/);
      expect(frame.match(/Y\/n/gi) ?? []).to.have.length(1);
      app.stdin.write('n');
      await until(app, /cancelled/);
      app.stdin.write('r');
      const restart = await until(app, /Restart db\? \(y\/N\)/);
      expect(restart.match(/y\/n/gi) ?? []).to.have.length(1);
    } finally {
      app.unmount();
    }
  });

  it('an unwired key is shown as n/a and says so when pressed', async () => {
    const actions = recordingActions({ without: ['retier', 'previewRetier'] });
    const feed = feedOf(() => stack());
    await refreshed(feed, 1);
    const app = render(<ConsoleApp feed={feed} actions={actions} onExit={() => undefined} size={{ columns: 100, rows: 24 }} />);
    try {
      await until(app, /t re-tier \(n\/a\)/);
      app.stdin.write('t');
      await until(app, /retier is not available in this build of the console \(use the `carebox retier` verb\)/);
    } finally {
      app.unmount();
    }
  });
});

/** A stdout of a given size, like a terminal over ssh: Ink lays out to its columns. */
class FixedTerminal extends EventEmitter {
  frames: string[] = [];
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write = (frame: string) => {
    this.frames.push(frame);
    return true;
  };
}
class Keys extends EventEmitter {
  isTTY = true;
  data: string | null = null;
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  write(d: string) {
    this.data = d;
    this.emit('readable');
  }
}

describe('ui: console dashboard in an 80×24 terminal', function () {
  this.timeout(15_000);
  for (const [label, status] of [
    ['healthy default tier', () => stack()],
    ['troubled stack', () => troubledStack()],
    [
      'six services (PgBouncer)',
      () => stack({ pgbouncer: troubledStack().services.find((s) => s.service === 'db')! && { ...stack().services[0]!, service: 'pgbouncer' } }),
    ],
  ] as const) {
    it(`${label}: every line within 80 columns, at most 23 lines (Ink never clears the screen)`, async () => {
      const feed = feedOf(status);
      await refreshed(feed, 4);
      const stdout = new FixedTerminal(80, 24);
      const stdin = new Keys();
      const app = inkRender(<ConsoleApp feed={feed} actions={recordingActions({ failScale: 'budget' })} onExit={() => undefined} />, {
        stdout: stdout as unknown as NodeJS.WriteStream,
        stdin: stdin as unknown as NodeJS.ReadStream,
        debug: true,
        exitOnCtrlC: false,
        patchConsole: false,
      });
      try {
        await tick();
        const seen: string[] = [];
        for (const key of [undefined, 't', '\u001B', 'j', 'j', 's', '\u001B[C', '\r', 'q']) {
          if (key) {
            stdin.write(key);
            await tick(80);
            // Enter asks for the refused scale: let its frame be drawn before `q` quits (frames
            // lag the keys on a busy host).
            for (let i = 0; key === '\r' && i < 200 && !stdout.frames.some((f) => /refused/.test(f)); i++) await tick(25);
          }
          const frame = stdout.frames.at(-1)!;
          const lines = frame.replace(/\n$/, '').split('\n');
          expect(lines.length, frame).to.be.at.most(23);
          // eslint-disable-next-line no-control-regex
          for (const l of lines) expect([...l.replace(/\x1b\[[0-9;]*m/g, '')].length, l).to.be.at.most(80);
          seen.push(frame);
        }
        // The walk went through the re-tier choice and a refused scale with its detail and hint.
        expect(seen.join('\n')).to.match(/❯ default/);
        // The refusal's reason is wrapped at 80 columns, not cut (issue 17): all of it is on screen.
        // eslint-disable-next-line no-control-regex
        // Every frame Ink wrote (they may lag the keys on a busy host).
        const plain = () => stdout.frames.map((f) => f.replace(/\x1b\[[0-9;]*m/g, ''));
        const refused = plain().find((f) => /✗ scale backend to \d refused/.test(f))!;
        const refusedLines = refused.replace(/\n$/, '').split('\n');
        expect(refusedLines.length, refused).to.be.at.most(23);
        for (const l of refusedLines) expect([...l].length, l).to.be.at.most(80);
        expect(refused).to.match(/✗ scale backend to \d refused[^\n]*\n(?: {2}\S[^\n]*\n)*\s+✗ DB connections[^\n]*\n\s+hint: /);
        expect(refused.replace(/\n\s+/g, ' ')).to.include("does not fit the plan's budgets on this host:");
        expect(refused).to.not.include('…');
      } finally {
        app.unmount();
      }
    });
  }
});

describe('ui: logs view at 80 columns shows log lines for people', () => {
  it("the server's JSON lines become time, level, message and the fields that matter; other lines stay as they are", async () => {
    const { LogsView } = await import('../../../../console/ui/logs.view.js');
    const at = Date.UTC(2026, 11, 7, 9, 5, 7);
    const hhmmss = [new Date(at).getHours(), 5, 7].map((n) => String(n).padStart(2, '0')).join(':');
    const lines = [
      `backend#5 | ${JSON.stringify({ level: 30, time: at, pid: 7, hostname: 'c0ffee', service: 'carebox-server', role: 'web', req: { id: 'r1', method: 'GET', path: '/api/v1/patients', remoteAddress: '10.0.0.9' }, res: { statusCode: 200 }, responseTime: 4, msg: 'GET 200' })}`,
      `backend#5 | ${JSON.stringify({ level: 50, time: at, service: 'carebox-server', role: 'web', err: { type: 'Error', message: 'pool timeout' }, msg: 'POST 503' })}`,
      `backend#5 | ${JSON.stringify({ level: 40, time: at, service: 'carebox-server', role: 'primary', worker: 3, msg: 'worker exited; restarting' })}`,
      'nginx#1 | 172.24.0.1 [2026-12-07T09:05:07+00:00] "GET /api/v1/patients" 200 58 0.004 0.004 id=abc',
    ];
    const app = render(<LogsView service="backend" lines={lines} width={79} height={22} />);
    try {
      const frame = app.lastFrame()!;
      expect(frame).to.include(`backend#5 ${hhmmss} INFO  GET 200 /api/v1/patients 4 ms\n`);
      expect(frame).to.include(`backend#5 ${hhmmss} ERROR POST 503 Error: pool timeout`);
      expect(frame).to.include(`backend#5 ${hhmmss} WARN  worker exited; restarting worker=3`);
      expect(frame).to.include('nginx#1 | 172.24.0.1 [2026-12-07T09:05:07+00:00] "GET /api/v1/patients" 200');
      expect(frame).to.not.include('{"level"');
      for (const l of frame.split('\n')) expect([...l].length, l).to.be.at.most(79);
    } finally {
      app.unmount();
    }
  });
});
