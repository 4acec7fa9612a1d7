/**
 * Every declarative preflight check on fixture HostFacts: pass, warn and fail, each with what it
 * found, what it needs and (unless it passed) how to fix it.
 */
import { expect } from 'chai';
import type { HostFacts } from '../../../installer/detect/host-facts.js';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { PreflightError } from '../../../installer/errors.js';
import type { Plan, Tier } from '../../../installer/plan/plan.types.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import {
  compareVersions,
  PREFLIGHT_CHECKS,
  preflightPassed,
  runPreflight,
  tierMinimum,
  type CheckResult,
  type PreflightContext,
} from '../../../installer/preflight/preflight.checks.js';

const GiB = 1024 ** 3;
const src = 'fixture';

/** A healthy 4-CPU / 8 GiB host with Docker 20.10, Compose v2 2.26, free disk and a free port. */
function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    cpus: { value: 4, source: 'cgroup v2 cpu.max in /sys/fs/cgroup' },
    hostCpus: { value: 8, source: '/sys/devices/system/cpu/online' },
    memoryBytes: { value: 8 * GiB, source: 'cgroup v2 memory.max in /sys/fs/cgroup' },
    hostMemoryBytes: { value: 16 * GiB, source: '/proc/meminfo' },
    swapBytes: { value: 0, source: '/proc/meminfo' },
    cgroupVersion: { value: 2, source: '/proc/self/mountinfo (cgroup2 unified hierarchy)' },
    disk: {
      installRoot: { path: '/opt/carebox', measuredPath: '/opt', freeBytes: 50 * GiB, totalBytes: 100 * GiB, source: src },
      dockerRoot: { path: '/var/lib/docker', measuredPath: '/var/lib/docker', freeBytes: 80 * GiB, totalBytes: 200 * GiB, source: src },
    },
    docker: {
      reachable: true,
      endpoint: '/var/run/docker.sock',
      engineVersion: '20.10.24+dfsg1',
      apiVersion: '1.41',
      minApiVersion: '1.12',
      dataRoot: '/var/lib/docker',
      cgroupDriver: 'systemd',
      cgroupVersion: 2,
      swarmActive: false,
      error: null,
      swarmNodeState: 'inactive',
    },
    compose: { flavour: 'v2-plugin', version: '2.26.1', command: ['docker', 'compose'], error: null },
    ports: [{ port: 80, bindAddress: '0.0.0.0', free: true, heldBy: null, source: src }],
    os: { platform: 'linux', kernel: '6.1.0', arch: 'x64', distro: 'Debian 12', privileged: true },
    detectedAt: '2026-11-29T00:00:00.000Z',
    ...over,
  };
}

const docker = (over: Partial<HostFacts['docker']>): Partial<HostFacts> => ({ docker: { ...facts().docker, ...over } });

function planOf(f: HostFacts, tier: Tier | null = null, users: number | null = null): Plan {
  return planCarebox(f, { tier, users, usersSource: users === null ? null : '--users', nodes: null, pgbouncer: 'auto' });
}

/** Context for a host, planned the way prepareInstall plans it (plan errors become planError/planHint). */
function ctx(f: HostFacts, opts: { tier?: Tier | null; users?: number | null; project?: string } = {}): PreflightContext {
  const tier = opts.tier ?? null;
  try {
    return { facts: f, tier, plan: planOf(f, tier, opts.users ?? null), planError: null, planHint: null, project: opts.project ?? 'carebox-root-abc123' };
  } catch (err) {
    if (!(err instanceof PreflightError)) throw err;
    return { facts: f, tier, plan: null, planError: err.message, planHint: err.hint, project: opts.project ?? 'carebox-root-abc123' };
  }
}

function check(id: string, c: PreflightContext): CheckResult {
  const r = runPreflight(c).find((x) => x.id === id);
  if (!r) throw new Error(`no check ${id}`);
  return r;
}

/** Statuses seen per check id across this file, so the last test can assert every check was driven both ways. */
const seen = new Map<string, Set<string>>();

/** Assert a check's status and the shape of its result (found/needs always, fix exactly when not passing). */
function expectStatus(id: string, c: PreflightContext, status: CheckResult['status']): CheckResult {
  const r = check(id, c);
  expect(r.status, `${id}: ${JSON.stringify(r)}`).to.equal(status);
  expect(r.found, `${id} found`).to.be.a('string').that.is.not.empty;
  expect(r.needs, `${id} needs`).to.be.a('string').that.is.not.empty;
  if (status === 'pass') expect(r.fix, `${id} fix`).to.equal(null);
  else expect(r.fix, `${id} fix`).to.be.a('string').that.is.not.empty;
  if (!seen.has(id)) seen.set(id, new Set());
  seen.get(id)!.add(status);
  return r;
}

describe('preflight: declarative checks on fixture host facts', () => {
  describe('overcommit (vm.overcommit_memory: Redis background saves fork)', () => {
    const at = (value: 0 | 1 | 2 | null) => facts({ overcommitMemory: { value, source: '/proc/sys/vm/overcommit_memory' } });
    it('passes at 1 and warns at 0 and 2 with the sysctl that fixes it; never fails', () => {
      expectStatus('overcommit', ctx(at(1)), 'pass');
      for (const v of [0, 2] as const) expect(expectStatus('overcommit', ctx(at(v)), 'warn').fix).to.contain('vm.overcommit_memory=1');
      expect(check('overcommit', ctx(at(2))).found).to.contain('MISCONF');
    });
    it('warns when the file could not be read (or facts from before it was read)', () => {
      expectStatus('overcommit', ctx(at(null)), 'warn');
      expectStatus('overcommit', ctx(facts()), 'warn');
    });
  });

  describe('tier-resources (minimum CPUs and memory per tier)', () => {
    it('passes when the plan fits, naming the tier minimum and the planned workers', () => {
      const r = expectStatus('tier-resources', ctx(facts()), 'pass');
      expect(r.found).to.match(/4 usable CPUs \(cgroup v2 cpu\.max.*host 8\)/);
      expect(r.found).to.match(/8 GiB usable .*host 16 GiB/);
      expect(r.needs).to.match(/horizontal tier: at least 2 CPUs and 4 GiB usable/);
    });

    it('fails below the default tier minimum (1 CPU, 1 GiB) with the planner’s hint as the fix', () => {
      const f = facts({ cpus: { value: 1, source: src }, memoryBytes: { value: 0.5 * GiB, source: src } });
      const r = expectStatus('tier-resources', ctx(f), 'fail');
      expect(r.needs).to.match(/default tier: at least 1 CPU and 1 GiB usable/);
      expect(r.fix).to.match(/at least 1 CPU and 1 GiB/);
    });

    it('fails for an asked-for tier the host is too small for, naming that tier’s minimum', () => {
      const f = facts({ cpus: { value: 2, source: src }, memoryBytes: { value: 2 * GiB, source: src } });
      const r = expectStatus('tier-resources', ctx(f, { tier: 'optimized' }), 'fail');
      expect(r.needs).to.match(/optimized tier: at least 2 CPUs and 4 GiB usable/);
      expect(r.needs).to.match(/cannot run the optimized tier/);
    });

    it('fails when the host cannot serve the users asked for, naming the hardware or the cluster tier', () => {
      const r = expectStatus('tier-resources', ctx(facts(), { users: 100_000 }), 'fail');
      expect(r.needs).to.match(/need (a host with \d+ CPUs and [\d.]+ GiB|the cluster tier)/);
    });

    it('states each tier’s minimum in words', () => {
      expect(tierMinimum('default')).to.equal('at least 1 CPU and 1 GiB usable');
      expect(tierMinimum('cluster')).to.match(/^at least \d+ CPUs and \d+ GiB usable$/);
    });
  });

  describe('swap', () => {
    it('passes with no swap', () => {
      expect(expectStatus('swap', ctx(facts()), 'pass').found).to.match(/no swap/);
    });
    it('passes with swap no larger than usable memory', () => {
      expectStatus('swap', ctx(facts({ swapBytes: { value: 2 * GiB, source: '/proc/meminfo' } })), 'pass');
    });
    it('warns (never fails) with more swap than usable memory', () => {
      const r = expectStatus('swap', ctx(facts({ swapBytes: { value: 16 * GiB, source: '/proc/meminfo' } })), 'warn');
      expect(r.found).to.match(/16 GiB swap .* for 8 GiB usable/);
      expect(r.fix).to.match(/swappiness|shrink swap/);
    });
  });

  describe('cgroup', () => {
    it('passes with cgroup v2 from mountinfo', () => {
      expect(expectStatus('cgroup', ctx(facts()), 'pass').found).to.match(/cgroup v2/);
    });
    it('passes with the engine’s cgroup version when this process sees no hierarchy', () => {
      const f = facts({ cgroupVersion: { value: null, source: 'no cgroup mount' }, ...docker({ cgroupVersion: 1 }) });
      expect(expectStatus('cgroup', ctx(f), 'pass').found).to.match(/cgroup v1/);
    });
    it('warns when no cgroup hierarchy is found anywhere', () => {
      const f = facts({ cgroupVersion: { value: null, source: 'no cgroup mount' }, ...docker({ cgroupVersion: null }) });
      expectStatus('cgroup', ctx(f), 'warn');
    });
  });

  describe('docker-engine', () => {
    it('passes for Debian 12’s docker.io 20.10.24 (API 1.41)', () => {
      expect(expectStatus('docker-engine', ctx(facts()), 'pass').found).to.equal('engine 20.10.24+dfsg1, API 1.41');
    });
    it('fails for an engine older than 20.10 / API 1.41', () => {
      const r = expectStatus('docker-engine', ctx(facts(docker({ engineVersion: '19.03.15', apiVersion: '1.40' }))), 'fail');
      expect(r.needs).to.match(/20\.10\.0.*1\.41/);
      expect(r.fix).to.match(/upgrade Docker/);
    });
    it('fails when the engine is not reachable, with the detector’s reason as the fix', () => {
      const r = expectStatus(
        'docker-engine',
        ctx(facts(docker({ reachable: false, engineVersion: null, apiVersion: null, error: 'connect ENOENT /var/run/docker.sock: is dockerd running?' }))),
        'fail',
      );
      expect(r.fix).to.match(/dockerd/);
    });
  });

  describe('docker-socket', () => {
    it('passes when the socket answered', () => {
      expect(expectStatus('docker-socket', ctx(facts()), 'pass').found).to.match(/docker\.sock usable/);
    });
    it('fails on permission denied, telling how to get access', () => {
      const r = expectStatus(
        'docker-socket',
        ctx(facts(docker({ reachable: false, error: 'connect EACCES /var/run/docker.sock: permission denied' }))),
        'fail',
      );
      expect(r.fix).to.match(/docker group|root/);
    });
    it('fails when nothing answers on the socket', () => {
      expectStatus('docker-socket', ctx(facts(docker({ reachable: false, error: 'connect ENOENT /var/run/docker.sock' }))), 'fail');
    });
  });

  describe('compose', () => {
    it('passes for the Compose v2 plugin 2.26', () => {
      expect(expectStatus('compose', ctx(facts()), 'pass').found).to.equal('v2-plugin 2.26.1 (docker compose)');
    });
    it('warns for docker-compose v1 1.29 (end of life, still works)', () => {
      const f = facts({ compose: { flavour: 'v1-binary', version: '1.29.2', command: ['docker-compose'], error: null } });
      expect(expectStatus('compose', ctx(f), 'warn').needs).to.match(/v2/);
    });
    it('fails for docker-compose v1 older than 1.29', () => {
      expectStatus('compose', ctx(facts({ compose: { flavour: 'v1-binary', version: '1.25.0', command: ['docker-compose'], error: null } })), 'fail');
    });
    it('fails for Compose v2 older than 2.17', () => {
      expectStatus('compose', ctx(facts({ compose: { flavour: 'v2-plugin', version: '2.10.2', command: ['docker', 'compose'], error: null } })), 'fail');
    });
    it('fails when no Compose CLI is found', () => {
      const r = expectStatus(
        'compose',
        ctx(facts({ compose: { flavour: null, version: null, command: [], error: 'neither `docker compose` nor `docker-compose` found' } })),
        'fail',
      );
      expect(r.found).to.match(/neither/);
    });
  });

  describe('disk-install-root', () => {
    const at = (free: number | null): Partial<HostFacts> => ({
      disk: {
        ...facts().disk,
        installRoot: free === null ? null : { path: '/opt/carebox', measuredPath: '/opt', freeBytes: free, totalBytes: 100 * GiB, source: src },
      },
    });
    it('passes with 50 GiB free', () => {
      expect(expectStatus('disk-install-root', ctx(facts()), 'pass').found).to.match(/50 GiB free at \/opt/);
    });
    it('warns under 10 GiB (backups)', () => {
      expectStatus('disk-install-root', ctx(facts(at(5 * GiB))), 'warn');
    });
    it('fails under 2 GiB', () => {
      expectStatus('disk-install-root', ctx(facts(at(1 * GiB))), 'fail');
    });
    it('warns when the free space cannot be measured', () => {
      expectStatus('disk-install-root', ctx(facts(at(null))), 'warn');
    });
  });

  describe('disk-docker-root', () => {
    const at = (free: number | null): Partial<HostFacts> => ({
      disk: {
        ...facts().disk,
        dockerRoot: free === null ? null : { path: '/var/lib/docker', measuredPath: '/var/lib/docker', freeBytes: free, totalBytes: 200 * GiB, source: src },
      },
    });
    it('passes with 80 GiB free', () => {
      expectStatus('disk-docker-root', ctx(facts()), 'pass');
    });
    it('warns under 20 GiB (the database grows)', () => {
      expectStatus('disk-docker-root', ctx(facts(at(10 * GiB))), 'warn');
    });
    it('fails under 5 GiB', () => {
      expect(expectStatus('disk-docker-root', ctx(facts(at(4 * GiB))), 'fail').fix).to.match(/prune|data-root/);
    });
    it('warns when the free space cannot be measured', () => {
      expectStatus('disk-docker-root', ctx(facts(at(null))), 'warn');
    });
  });

  describe('ports', () => {
    const held = (heldBy: string | null): Partial<HostFacts> => ({ ports: [{ port: 80, bindAddress: '0.0.0.0', free: false, heldBy, source: src }] });
    it('passes when the HTTP port is free', () => {
      expect(expectStatus('ports', ctx(facts()), 'pass').found).to.equal('0.0.0.0:80 free');
    });
    it('passes when this install’s own stack holds the port (a re-run)', () => {
      expectStatus('ports', ctx(facts(held('carebox-root-abc123')), { project: 'carebox-root-abc123' }), 'pass');
    });
    it('fails when another process holds it, naming the holder and --http-port', () => {
      const r = expectStatus('ports', ctx(facts(held('container web (Compose project other)'))), 'fail');
      expect(r.found).to.match(/held by container web/);
      expect(r.fix).to.match(/--http-port/);
    });
  });

  describe('edge exposure', () => {
    it('warns about plain HTTP on every interface, pointing at TLS in front and --bind', () => {
      const r = expectStatus('edge-exposure', ctx(facts()), 'warn');
      expect(r.found).to.match(/0\.0\.0\.0:80.*every interface/);
      expect(r.fix)
        .to.match(/TLS/)
        .and.match(/--bind/);
    });
    it('passes when the edge is bound to one address', () => {
      expectStatus('edge-exposure', ctx(facts({ ports: [{ port: 8080, bindAddress: '10.0.0.5', free: true, heldBy: null, source: src }] })), 'pass');
    });
  });

  describe('swarm (cluster tier only)', () => {
    it('passes for single-host tiers', () => {
      expectStatus('swarm', ctx(facts()), 'pass');
    });
    it('passes for the cluster tier on a Swarm manager', () => {
      expectStatus('swarm', ctx(facts(docker({ swarmActive: true, swarmNodeState: 'active' })), { tier: 'cluster' }), 'pass');
    });
    it('fails for the cluster tier without Swarm, with `docker swarm init` as the fix', () => {
      expect(expectStatus('swarm', ctx(facts(), { tier: 'cluster' }), 'fail').fix).to.match(/docker swarm init/);
    });
  });

  describe('runPreflight / preflightPassed', () => {
    it('runs every check once, in declared order, and passes on a healthy host', () => {
      const results = runPreflight(ctx(facts()));
      expect(results.map((r) => r.id)).to.deep.equal(PREFLIGHT_CHECKS.map((c) => c.id));
      expect(new Set(results.map((r) => r.id)).size).to.equal(results.length);
      expect(preflightPassed(results)).to.equal(true);
    });

    it('a warning alone does not fail preflight; one fail does', () => {
      const warned = runPreflight(ctx(facts({ swapBytes: { value: 32 * GiB, source: src } })));
      expect(warned.some((r) => r.status === 'warn')).to.equal(true);
      expect(preflightPassed(warned)).to.equal(true);
      const failed = runPreflight(ctx(facts({ ports: [{ port: 80, bindAddress: '0.0.0.0', free: false, heldBy: 'apache2', source: src }] })));
      expect(preflightPassed(failed)).to.equal(false);
    });

    it('is pure: the same context gives deep-equal results', () => {
      const c = ctx(facts({ swapBytes: { value: 32 * GiB, source: src } }));
      expect(runPreflight(c)).to.deep.equal(runPreflight(c));
    });

    it('compareVersions orders dotted versions numerically and ignores distro suffixes', () => {
      expect(compareVersions('20.10.24+dfsg1', '20.10.0')).to.equal(1);
      expect(compareVersions('20.10.0', '20.10.0')).to.equal(0);
      expect(compareVersions('19.03.15', '20.10.0')).to.equal(-1);
      expect(compareVersions('v2.26.1', '2.17.0')).to.equal(1);
      expect(compareVersions('1.41', '1.41')).to.equal(0);
      expect(compareVersions('1.9', '1.41')).to.equal(-1);
    });

    it('every check was driven to pass and to a warn or fail by the cases above', () => {
      for (const c of PREFLIGHT_CHECKS) {
        const statuses = seen.get(c.id) ?? new Set();
        expect(statuses.has('pass'), `${c.id} has a passing case`).to.equal(true);
        expect(statuses.has('warn') || statuses.has('fail'), `${c.id} has a warn or fail case`).to.equal(true);
      }
    });
  });
});

// hypotheticalHost keeps usable and host figures equal; preflight must show them side by side either way.
describe('preflight: host figures next to usable figures', () => {
  it('shows both even when they are equal (no container limit)', () => {
    const h = hypotheticalHost(2, 4 * GiB);
    const f = facts({ cpus: h.cpus, hostCpus: h.hostCpus, memoryBytes: h.memoryBytes, hostMemoryBytes: h.hostMemoryBytes });
    expect(check('tier-resources', ctx(f)).found).to.match(/2 usable CPUs .*host 2\), 4 GiB usable .*host 4 GiB\)/);
  });
});
