import { formatBytes } from '../detect/size.js';
import type { HostFacts } from '../detect/host-facts.js';
import type { Plan, Tier } from '../plan/plan.types.js';
import { GiB } from '../plan/sizing.constants.js';
import { TIER_SHAPES } from '../plan/tier.shapes.js';

/** Outcome of one preflight check: what was found, what is needed, and how to fix it. */
export interface CheckResult {
  id: string;
  title: string;
  status: 'pass' | 'warn' | 'fail';
  found: string;
  needs: string;
  /** What to do about a warn or fail; null on pass. */
  fix: string | null;
}

/** What the checks look at. `plan` is null when planning failed (planError says why). */
export interface PreflightContext {
  facts: HostFacts;
  tier: Tier | null;
  plan: Plan | null;
  planError: string | null;
  /** The planner's hint for planError (what would make the host fit), when it gave one. */
  planHint?: string | null;
  /** The project this install root uses (its own published port is not a conflict). */
  project: string;
  /** The HTTPS host port when nginx terminates TLS (that port is not plain HTTP). */
  httpsPort?: number | null;
}

/**
 * A declarative check: a pure function of the context. `run` never throws; it says pass, warn
 * (the install proceeds) or fail (`carebox install` stops with exit 3), with what it found, what is
 * needed, and how to fix it.
 */
export interface PreflightCheck {
  id: string;
  title: string;
  run(ctx: PreflightContext): Omit<CheckResult, 'id' | 'title'>;
}

/** Oldest Docker engine Carebox supports (Debian 12's docker.io; API 1.41). */
export const MIN_DOCKER_ENGINE = '20.10.0';
export const MIN_DOCKER_API = '1.41';
/** Oldest Compose versions: v2 2.17 (stable `depends_on` conditions, `--wait`), v1 1.29 (Compose spec). */
export const MIN_COMPOSE_V2 = '2.17.0';
export const MIN_COMPOSE_V1 = '1.29.0';
/** Disk needed at the install root (configs, backups) and Docker's data root (images, volumes), bytes. */
export const MIN_INSTALL_ROOT_FREE = 2 * GiB;
export const WARN_INSTALL_ROOT_FREE = 10 * GiB;
export const MIN_DOCKER_ROOT_FREE = 5 * GiB;
export const WARN_DOCKER_ROOT_FREE = 20 * GiB;

/** Compare dotted versions numerically (`20.10.24+dfsg1` vs `20.10.0`): -1, 0 or 1. Non-numeric suffixes are ignored. */
export function compareVersions(a: string, b: string): number {
  const pa = a
    .replace(/^v/, '')
    .split(/[.+-]/)
    .slice(0, 3)
    .map((x) => parseInt(x, 10) || 0);
  const pb = b
    .replace(/^v/, '')
    .split(/[.+-]/)
    .slice(0, 3)
    .map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

const pass = (found: string, needs: string) => ({ status: 'pass' as const, found, needs, fix: null });

/** A tier's minimum in words: `at least 2 CPUs and 4 GiB usable`. */
export function tierMinimum(tier: Tier): string {
  const s = TIER_SHAPES[tier];
  return `at least ${s.minCpus} CPU${s.minCpus > 1 ? 's' : ''} and ${formatBytes(s.minMemoryBytes)} usable`;
}

/** Every check, in display order. */
export const PREFLIGHT_CHECKS: PreflightCheck[] = [
  {
    id: 'tier-resources',
    title: 'CPU and memory for the tier',
    run: ({ facts, plan, planError, planHint, tier }) => {
      const found = `${facts.cpus.value} usable CPUs (${facts.cpus.source}; host ${facts.hostCpus.value}), ${formatBytes(facts.memoryBytes.value)} usable (${facts.memoryBytes.source}; host ${formatBytes(facts.hostMemoryBytes.value)})`;
      if (!plan) {
        const t = tier ?? 'default';
        return {
          status: 'fail',
          found,
          needs: `the ${t} tier: ${tierMinimum(t)}${planError ? `; ${planError}` : ''}`,
          fix: planHint ?? 'give the VM or container more CPUs/memory (check cgroup limits), or choose a smaller tier with --tier',
        };
      }
      if (plan.shortfall)
        return { status: 'fail', found, needs: plan.shortfall.message, fix: 'install on a bigger host, lower --users, or plan the cluster tier' };
      const s = plan.sizing;
      return pass(found, `the ${plan.tier} tier: ${tierMinimum(plan.tier)}; planned ${s.backend.replicas} × ${s.backend.workers} web workers, all budgets fit`);
    },
  },
  {
    // Docker gives each container as much swap as its memory limit when the host has swap
    // (memswap_limit defaults to twice mem_limit), so a container over its limit pages instead of
    // being OOM-killed and restarted. With little swap that is a brief cushion; with more swap than
    // memory, PostgreSQL and the node heaps can sit in swap for minutes while latency collapses.
    // GitLab's requirements: disable swap where possible, or provision memory so it is never used.
    // The plan never counts swap as memory, so swap never fails an install; it only warns.
    id: 'swap',
    title: 'Swap',
    run: ({ facts }) => {
      const swap = facts.swapBytes.value;
      const mem = facts.memoryBytes.value;
      const found =
        swap === 0 ? `no swap (${facts.swapBytes.source})` : `${formatBytes(swap)} swap (${facts.swapBytes.source}) for ${formatBytes(mem)} usable memory`;
      const needs = `at most as much swap as usable memory (${formatBytes(mem)}); the plan never counts swap as memory`;
      if (swap > mem) {
        return {
          status: 'warn',
          found,
          needs,
          fix: 'a container over its memory limit would page for minutes instead of restarting in seconds; shrink swap to at most the memory size, or set vm.swappiness=1',
        };
      }
      return pass(found, needs);
    },
  },
  {
    // Redis forks to rewrite its append-only file. Under strict overcommit (2), or the heuristic (0)
    // on a host short of memory, the fork fails, Redis refuses writes (MISCONF) and sign-in and the
    // job queue stop (503 STORE_REFUSES_WRITES; the RedisRefusesWrites alert fires). Redis's own
    // start-up warning asks for 1. Never fails an install: the host's kernel settings are the admin's.
    id: 'overcommit',
    title: 'vm.overcommit_memory',
    run: ({ facts }) => {
      const f = facts.overcommitMemory;
      const needs = 'vm.overcommit_memory = 1 (Redis background saves fork; Redis documentation)';
      const fix = 'run `sysctl vm.overcommit_memory=1` and add `vm.overcommit_memory = 1` to /etc/sysctl.d/99-carebox.conf';
      if (!f || f.value === null) return { status: 'warn', found: `could not read ${f?.source ?? '/proc/sys/vm/overcommit_memory'}`, needs, fix };
      if (f.value === 1) return pass(`1 (${f.source})`, needs);
      const found =
        f.value === 2
          ? `2, strict (${f.source}): Redis's fork for its AOF rewrite can fail, and Redis then refuses writes (MISCONF)`
          : `0, heuristic (${f.source}): under memory pressure Redis's fork can fail and Redis then refuses writes (MISCONF)`;
      return { status: 'warn', found, needs, fix };
    },
  },
  {
    id: 'cgroup',
    title: 'cgroup limits enforceable',
    run: ({ facts }) => {
      const v = facts.cgroupVersion.value ?? facts.docker.cgroupVersion;
      if (v === null)
        return {
          status: 'warn',
          found: 'no cgroup hierarchy found',
          needs: 'cgroup v1 or v2 so container limits are enforced',
          fix: 'boot with cgroups enabled (systemd does by default); limits may be ignored otherwise',
        };
      return pass(`cgroup v${v} (${facts.cgroupVersion.source})`, 'cgroup v1 or v2');
    },
  },
  {
    id: 'docker-engine',
    title: 'Docker engine',
    run: ({ facts }) => {
      const d = facts.docker;
      if (!d.reachable)
        return {
          status: 'fail',
          found: d.error ?? 'not reachable',
          needs: `Docker engine ≥ ${MIN_DOCKER_ENGINE}`,
          fix: d.error ?? 'install docker.io and start it',
        };
      const ok = compareVersions(d.engineVersion ?? '0', MIN_DOCKER_ENGINE) >= 0 && compareVersions(d.apiVersion ?? '0', MIN_DOCKER_API) >= 0;
      const found = `engine ${d.engineVersion}, API ${d.apiVersion}`;
      return ok
        ? pass(found, `≥ ${MIN_DOCKER_ENGINE} (API ${MIN_DOCKER_API})`)
        : { status: 'fail', found, needs: `≥ ${MIN_DOCKER_ENGINE} (API ${MIN_DOCKER_API})`, fix: 'upgrade Docker (Debian 12: apt-get install docker.io)' };
    },
  },
  {
    id: 'docker-socket',
    title: 'Docker socket permission',
    run: ({ facts }) => {
      const d = facts.docker;
      if (d.error && /permission denied/i.test(d.error))
        return {
          status: 'fail',
          found: d.error,
          needs: 'read/write access to the Docker socket',
          fix: 'run as root, or add the user to the docker group and log in again',
        };
      if (!d.reachable) return { status: 'fail', found: d.error ?? 'not reachable', needs: 'a reachable Docker socket', fix: 'start dockerd' };
      return pass(`${d.endpoint} usable`, 'read/write access to the Docker socket');
    },
  },
  {
    id: 'compose',
    title: 'Docker Compose',
    run: ({ facts }) => {
      const c = facts.compose;
      if (!c.flavour || !c.version)
        return {
          status: 'fail',
          found: c.error ?? 'not found',
          needs: `Compose v2 ≥ ${MIN_COMPOSE_V2} (or docker-compose ≥ ${MIN_COMPOSE_V1})`,
          fix: 'install the Compose v2 plugin (Debian 13 package docker-compose; see README)',
        };
      const min = c.flavour === 'v1-binary' ? MIN_COMPOSE_V1 : MIN_COMPOSE_V2;
      const found = `${c.flavour} ${c.version} (${c.command.join(' ')})`;
      if (compareVersions(c.version, min) < 0) return { status: 'fail', found, needs: `≥ ${min}`, fix: 'upgrade Docker Compose' };
      if (c.flavour === 'v1-binary')
        return {
          status: 'warn',
          found,
          needs: `Compose v2 ≥ ${MIN_COMPOSE_V2}`,
          fix: 'Compose v1 is end-of-life; Carebox works with it but install the v2 plugin when you can',
        };
      return pass(found, `≥ ${min}`);
    },
  },
  {
    id: 'disk-install-root',
    title: 'Disk at the install root',
    run: ({ facts }) => {
      const d = facts.disk.installRoot;
      if (!d) return { status: 'warn', found: 'not measurable', needs: formatBytes(MIN_INSTALL_ROOT_FREE), fix: 'check free space by hand (df -h)' };
      const found = `${formatBytes(d.freeBytes)} free at ${d.measuredPath}`;
      if (d.freeBytes < MIN_INSTALL_ROOT_FREE)
        return { status: 'fail', found, needs: `≥ ${formatBytes(MIN_INSTALL_ROOT_FREE)}`, fix: 'free disk space or choose another --dir' };
      if (d.freeBytes < WARN_INSTALL_ROOT_FREE)
        return {
          status: 'warn',
          found,
          needs: `${formatBytes(WARN_INSTALL_ROOT_FREE)} recommended for backups`,
          fix: 'backups may fill this disk; add space or lower retention',
        };
      return pass(found, `≥ ${formatBytes(MIN_INSTALL_ROOT_FREE)}`);
    },
  },
  {
    id: 'disk-docker-root',
    title: "Disk at Docker's data root",
    run: ({ facts, plan }) => {
      // Container logs live under Docker's data root too: the plan's worst case comes on top.
      const logs = plan?.sizing.logs?.diskBytes ?? 0;
      const min = MIN_DOCKER_ROOT_FREE + logs;
      const of = logs > 0 ? ` (${formatBytes(MIN_DOCKER_ROOT_FREE)} + ${formatBytes(logs)} of rotated container logs at most)` : '';
      const d = facts.disk.dockerRoot;
      if (!d) return { status: 'warn', found: 'not measurable', needs: `${formatBytes(min)}${of}`, fix: 'check free space at /var/lib/docker by hand' };
      const found = `${formatBytes(d.freeBytes)} free at ${d.measuredPath}`;
      if (d.freeBytes < min)
        return { status: 'fail', found, needs: `≥ ${formatBytes(min)}${of}`, fix: 'free space (docker system prune) or move Docker’s data-root' };
      if (d.freeBytes < WARN_DOCKER_ROOT_FREE + logs)
        return {
          status: 'warn',
          found,
          needs: `${formatBytes(WARN_DOCKER_ROOT_FREE + logs)} recommended for the database and the logs`,
          fix: 'the database volume grows with records; add space',
        };
      return pass(found, `≥ ${formatBytes(min)}${of}`);
    },
  },
  {
    id: 'ports',
    title: 'Published ports free',
    run: ({ facts, project, httpsPort }) => {
      const busy = facts.ports.filter((p) => !p.free && p.heldBy !== project);
      const found =
        facts.ports.map((p) => `${p.bindAddress}:${p.port} ${p.free ? 'free' : `held by ${p.heldBy ?? 'another process'}`}`).join(', ') || 'no ports asked';
      if (busy.length > 0) {
        const flags = [...new Set(busy.map((p) => (p.port === httpsPort ? '--https-port' : '--http-port')))].join(' or ');
        return {
          status: 'fail',
          found,
          needs: 'the published ports free (or held by this Carebox stack)',
          fix: `stop what holds the port or choose another with ${flags}`,
        };
      }
      return pass(found, 'free, or held by this stack');
    },
  },
  {
    id: 'edge-exposure',
    title: 'Edge exposure (plain HTTP)',
    run: ({ facts, httpsPort }) => {
      const plain = facts.ports.filter((p) => p.port !== httpsPort);
      const open = plain.filter((p) => p.bindAddress === '0.0.0.0' || p.bindAddress === '::');
      const found = facts.ports.map((p) => `${p.port === httpsPort ? 'https' : 'http'}://${p.bindAddress}:${p.port}`).join(', ') || 'no ports asked';
      if (open.length === 0)
        return pass(
          httpsPort ? `${found}: TLS at the edge, plain HTTP on loopback only` : `${found}: only on the address given with --bind`,
          'plain HTTP only on a protected address',
        );
      return {
        status: 'warn',
        found: `${found}: plain HTTP on every interface of this host`,
        needs: 'TLS in front of the edge for anything beyond a protected network (passwords, session tokens and patient records cross it)',
        fix: "install with --tls-cert FILE --tls-key FILE (HTTPS at the edge, HTTP on loopback only), or terminate TLS at the hospital's reverse proxy and bind the edge to its network with --bind ADDRESS (README: Network exposure)",
      };
    },
  },
  {
    id: 'swarm',
    title: 'Orchestrator for the cluster tier',
    run: ({ facts, tier, plan }) => {
      const t = plan?.tier ?? tier;
      if (t !== 'cluster') return pass('not needed', 'only for the cluster tier');
      return facts.docker.swarmActive
        ? pass('this engine is a Swarm manager', 'Docker Swarm manager')
        : {
            status: 'fail',
            found: `Swarm ${facts.docker.swarmNodeState ?? 'inactive'}`,
            needs: 'a Docker Swarm manager (docker stack deploy from the same Compose files)',
            fix: 'run `docker swarm init` and join the other hosts, or choose a single-host tier',
          };
    },
  },
];

/** Run every check. Pure. */
export function runPreflight(ctx: PreflightContext, checks: PreflightCheck[] = PREFLIGHT_CHECKS): CheckResult[] {
  return checks.map((c) => ({ id: c.id, title: c.title, ...c.run(ctx) }));
}

/** True when no check failed. */
export function preflightPassed(results: CheckResult[]): boolean {
  return results.every((r) => r.status !== 'fail');
}
