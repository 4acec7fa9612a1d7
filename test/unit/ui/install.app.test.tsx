import { expect } from 'chai';
import { render } from 'ink-testing-library';
import type { HostFacts } from '../../../installer/detect/host-facts.js';
import type { InstallPreparation } from '../../../installer/apply/install.apply.js';
import { runSteps, type Step } from '../../../installer/apply/steps.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import { runPreflight } from '../../../installer/preflight/preflight.checks.js';
import { InstallApp } from '../../../installer/ui/install.app.js';
import { StepStore } from '../../../installer/ui/step.store.js';
import { UnhealthyError } from '../../../installer/errors.js';

const GiB = 1024 ** 3;

function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    cpus: { value: 2, source: 'cgroup v2 cpu.max' },
    hostCpus: { value: 16, source: '/sys/devices/system/cpu/online' },
    memoryBytes: { value: 4 * GiB, source: 'cgroup v2 memory.max' },
    hostMemoryBytes: { value: 64 * GiB, source: '/proc/meminfo MemTotal' },
    swapBytes: { value: 0, source: '/proc/meminfo SwapTotal' },
    cgroupVersion: { value: 2, source: 'mountinfo' },
    disk: {
      installRoot: { path: '/opt/carebox', measuredPath: '/opt', freeBytes: 100 * GiB, totalBytes: 200 * GiB, source: 'statfs' },
      dockerRoot: { path: '/var/lib/docker', measuredPath: '/var/lib/docker', freeBytes: 100 * GiB, totalBytes: 200 * GiB, source: 'statfs' },
    },
    docker: {
      reachable: true,
      endpoint: '/var/run/docker.sock',
      engineVersion: '20.10.24',
      apiVersion: '1.41',
      minApiVersion: '1.12',
      dataRoot: '/var/lib/docker',
      cgroupDriver: 'cgroupfs',
      cgroupVersion: 2,
      swarmActive: false,
      error: null,
    },
    compose: { flavour: 'v2-plugin', version: '2.26.1', command: ['docker', 'compose'], error: null },
    ports: [{ port: 8080, bindAddress: '0.0.0.0', free: true, heldBy: null, source: 'listen' }],
    os: { platform: 'linux', kernel: '6.1', arch: 'x64', distro: 'Debian 12', privileged: true },
    detectedAt: '2026-11-29T00:00:00.000Z',
    ...over,
  };
}

function prep(f: HostFacts = facts()): InstallPreparation {
  const intent = { tier: null, users: null, usersSource: null, nodes: null };
  let plan = null;
  let planError = null;
  try {
    plan = planCarebox(f, intent);
  } catch (e) {
    planError = e as never;
  }
  return {
    options: { root: '/opt/carebox', intent: null, httpPort: 8080, bindAddress: '0.0.0.0', imagesFile: null, renderOnly: false, timeoutMs: 1000, env: {} },
    root: '/opt/carebox',
    project: 'carebox',
    httpPort: 8080,
    bindAddress: '0.0.0.0',
    tls: null,
    tlsPair: null,
    facts: f,
    intent,
    plan,
    planError,
    preflight: runPreflight({ facts: f, tier: null, plan, planError: planError ? (planError as Error).message : null, project: 'carebox' }),
    previous: null,
  };
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

/** Real steps (no Docker): they only report through the store, as the install steps do. */
function steps(fail = false): Step<null>[] {
  return [
    {
      id: 'a',
      title: 'Write files',
      run: async (_c, progress) => {
        progress('compose.yml');
        await tick(5);
        return '5 files';
      },
    },
    {
      id: 'b',
      title: 'Start the stack',
      run: async () => {
        if (fail) throw new UnhealthyError('backend did not become healthy', 'see carebox logs backend');
        return 'healthy';
      },
    },
  ];
}

describe('ui: InstallApp (ink-testing-library)', () => {
  it('shows host and usable CPUs/memory, the tier with reasons, preflight, then asks', async () => {
    let code = -1;
    const store = new StepStore();
    const app = render(
      <InstallApp prep={prep()} autoConfirm={false} store={store} execute={async () => ({ url: 'http://x/', summary: 'up' })} onExit={(c) => (code = c)} />,
    );
    try {
      await tick();
      const frame = app.lastFrame()!;
      expect(frame).to.match(/CPUs\s+host 16, usable 2/);
      expect(frame).to.match(/Memory\s+host 64 GiB, usable 4 GiB/);
      expect(frame).to.match(/Tier optimized/);
      expect(frame).to.match(/Preflight/);
      expect(frame).to.match(/Install tier optimized into \/opt\/carebox/);
      expect(code).to.equal(-1);
    } finally {
      app.unmount();
    }
  });

  it('on confirm runs the steps with live progress and ends with the URL (exit 0)', async () => {
    let code = -1;
    const store = new StepStore();
    const app = render(
      <InstallApp
        prep={prep()}
        autoConfirm={false}
        store={store}
        execute={async (s) => {
          await runSteps(steps(), null, s);
          return { url: 'http://127.0.0.1:8080/', summary: 'Carebox is up (tier optimized).' };
        }}
        onExit={(c) => (code = c)}
      />,
    );
    try {
      await tick();
      app.stdin.write('y');
      // Bounded wait for the last step's frame: on a busy host frames lag a fixed sleep.
      for (let i = 0; i < 200 && (code === -1 || !/Open http/.test(app.lastFrame() ?? '')); i++) await tick(25);
      const frame = app.frames.join('\n');
      expect(frame).to.match(/✓ Write files/);
      expect(frame).to.match(/✓ Start the stack/);
      expect(app.lastFrame()).to.match(/Open http:\/\/127\.0\.0\.1:8080\//);
      expect(code).to.equal(0);
    } finally {
      app.unmount();
    }
  });

  it('declining changes nothing (exit 1)', async () => {
    let code = -1;
    let ran = false;
    const app = render(
      <InstallApp
        prep={prep()}
        autoConfirm={false}
        store={new StepStore()}
        execute={async () => {
          ran = true;
          return { url: null, summary: '' };
        }}
        onExit={(c) => (code = c)}
      />,
    );
    try {
      await tick();
      app.stdin.write('n');
      await tick(60);
      expect(app.lastFrame()).to.match(/Cancelled: nothing was changed/);
      expect(ran).to.equal(false);
      expect(code).to.equal(1);
    } finally {
      app.unmount();
    }
  });

  it('a failed step shows the error and hint and exits with its code (4)', async () => {
    let code = -1;
    const app = render(
      <InstallApp
        prep={prep()}
        autoConfirm
        store={new StepStore()}
        execute={async (s) => {
          await runSteps(steps(true), null, s);
          return { url: null, summary: '' };
        }}
        onExit={(c) => (code = c)}
      />,
    );
    try {
      await tick(120);
      expect(app.lastFrame()).to.match(/backend did not become healthy/);
      expect(app.lastFrame()).to.match(/hint: see carebox logs backend/);
      expect(code).to.equal(4);
    } finally {
      app.unmount();
    }
  });

  it('a host below the minimum shows the failed preflight and exits 3 without asking', async () => {
    let code = -1;
    let ran = false;
    const small = facts({ memoryBytes: { value: 512 * 1024 ** 2, source: 'cgroup v2 memory.max' } });
    const app = render(
      <InstallApp
        prep={prep(small)}
        autoConfirm={false}
        store={new StepStore()}
        execute={async () => {
          ran = true;
          return { url: null, summary: '' };
        }}
        onExit={(c) => (code = c)}
      />,
    );
    try {
      await tick(60);
      const frame = app.lastFrame()!;
      expect(frame).to.match(/✗ CPU and memory for the tier/);
      expect(frame).to.match(/Preflight failed/);
      expect(frame).to.not.match(/\(Y\/n\)/);
      expect(ran).to.equal(false);
      expect(code).to.equal(3);
    } finally {
      app.unmount();
    }
  });
});
