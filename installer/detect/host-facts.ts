/**
 * HostFacts: everything Carebox reads off the host before it plans. Pure data, JSON-serialisable,
 * stored in `carebox.json` so a later `status`, re-tier or support bundle sees what the install saw.
 *
 * Every figure carries the `source` it was read from (for example `cgroup v2 cpu.max` or
 * `/proc/meminfo`), so an admin can tell a container limit from a host figure.
 */

/** One detected figure and where it came from. */
export interface Fact<T> {
  value: T;
  /** Human-readable origin, e.g. `cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us`, `/proc/meminfo`, `--cpus flag`. */
  source: string;
}

/** Disk space at one path. */
export interface DiskFact {
  /** The path that was asked about (install root, Docker data root). */
  path: string;
  /** The existing ancestor actually measured (the install root may not exist yet). */
  measuredPath: string;
  /** Free bytes available to unprivileged writers (statfs f_bavail × f_bsize). */
  freeBytes: number;
  /** Total bytes of the filesystem. */
  totalBytes: number;
  source: string;
}

/** The Docker engine as seen through its socket. */
export interface DockerFact {
  /** True when `/version` answered. */
  reachable: boolean;
  /** Socket path or `DOCKER_HOST`. */
  endpoint: string;
  /** Engine version, e.g. `20.10.24+dfsg1`; null when unreachable. */
  engineVersion: string | null;
  /** Highest API version the engine speaks, e.g. `1.41`. */
  apiVersion: string | null;
  /** Lowest API version the engine accepts. */
  minApiVersion: string | null;
  /** Docker's data root (`/var/lib/docker`), from `/info`. */
  dataRoot: string | null;
  /** `cgroupfs` or `systemd`, from `/info`. */
  cgroupDriver: string | null;
  /** 1 or 2, from `/info`. */
  cgroupVersion: 1 | 2 | null;
  /** Whether the engine is a Swarm manager (needed by the cluster tier). */
  swarmActive: boolean;
  /** Why the engine could not be used (permission denied, not running), with the fix. */
  error: string | null;
  /**
   * API version detect talked to the engine with: min(engine `ApiVersion`, the newest version
   * Carebox knows), raised to the engine's `MinAPIVersion` if needed. Pass it as dockerode's
   * `version` (prefixed `v`) so an older engine never answers "client version is too new".
   */
  negotiatedApiVersion?: string | null;
  /** Swarm `LocalNodeState` from `/info` (`inactive`, `active`, `pending`, `error`, `locked`). */
  swarmNodeState?: string | null;
}

/** The Docker Compose CLI that apply will drive. */
export interface ComposeFact {
  /** `v2-plugin` is `docker compose`, `v1-binary` is `docker-compose` 1.x, `v2-binary` a standalone v2. */
  flavour: 'v2-plugin' | 'v2-binary' | 'v1-binary' | null;
  /** Semantic version, e.g. `2.26.1`. */
  version: string | null;
  /** argv prefix to run it, e.g. `["docker", "compose"]`. */
  command: string[];
  error: string | null;
}

/** One TCP port the stack wants to publish. */
export interface PortFact {
  port: number;
  /** Address the port is published on (`0.0.0.0` or `127.0.0.1`). */
  bindAddress: string;
  free: boolean;
  /** What holds it, when known (for a port our own stack already publishes, `carebox`). */
  heldBy: string | null;
  source: string;
  /** Why the port is not free, or why the probe could not tell (e.g. `EADDRINUSE`, `EADDRNOTAVAIL`). */
  reason?: string | null;
}

/** Everything detect returns. Figures in bytes and CPUs (fractional CPUs allowed: a quota of 1.5). */
export interface HostFacts {
  /** CPUs this host lets Carebox use: min(host CPUs, cgroup quota, affinity mask), never below 1. */
  cpus: Fact<number>;
  /** CPUs the kernel reports online (what `os.cpus()` says). */
  hostCpus: Fact<number>;
  /** Memory Carebox may use: min(host memory, cgroup limit), bytes. */
  memoryBytes: Fact<number>;
  /** Memory the kernel reports (`/proc/meminfo` MemTotal), bytes. */
  hostMemoryBytes: Fact<number>;
  /** Swap configured, bytes (0 when none). */
  swapBytes: Fact<number>;
  /** Which cgroup hierarchy governs this process; null when none is mounted. */
  cgroupVersion: Fact<1 | 2 | null>;
  /**
   * `vm.overcommit_memory` (0, 1, 2; null when unreadable): Redis's background saves fork, and
   * fail under 2 (overcommit.parse.ts). Absent in manifests written before it was read.
   */
  overcommitMemory?: Fact<0 | 1 | 2 | null>;
  disk: {
    installRoot: DiskFact | null;
    dockerRoot: DiskFact | null;
  };
  docker: DockerFact;
  compose: ComposeFact;
  ports: PortFact[];
  os: {
    platform: string;
    kernel: string;
    arch: string;
    distro: string;
    /** True when this process itself runs as root or in the docker group. */
    privileged: boolean;
  };
  /** ISO-8601 time of detection. Excluded from plan inputs so plans stay deterministic. */
  detectedAt: string;
  /**
   * What detection could not read or had to work around (malformed cgroup files, guessed paths,
   * a systeminformation figure that disagrees with /proc), one line each. Empty on a clean host.
   */
  notes?: string[];
}

/** The subset of HostFacts the planner reads. `plan --cpus --memory` builds one without detecting. */
export interface PlanHost {
  cpus: Fact<number>;
  hostCpus: Fact<number>;
  memoryBytes: Fact<number>;
  hostMemoryBytes: Fact<number>;
  /**
   * The disk under Docker's data root, where container logs live: the plan sizes the log limits
   * from its total size (logs.sizing.ts). Absent (a what-if host, `plan --cpus --memory`) or null
   * (not measurable): the fixed default limits.
   */
  disk?: { dockerRoot: DiskFact | null };
}
