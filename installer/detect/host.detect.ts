/**
 * detect: reads the world once and returns HostFacts. A thin reader over the pure parsers in this
 * folder; each part has its own time bound, so detection finishes within a few seconds even when
 * Docker is down, and nothing in here throws for a missing or malformed source.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import si from 'systeminformation';
import type { HostFacts } from './host-facts.js';
import { detectResources, hostModeFromEnv } from './resources.detect.js';
import { detectDocker, dockerClient } from './docker.detect.js';
import { detectCompose } from './compose.detect.js';
import { detectPorts } from './ports.detect.js';
import { detectDisk } from './disk.detect.js';
import { findGroup } from './etc-group.parse.js';
import { withTimeout } from './timeout.js';
import { parseOvercommit } from './overcommit.parse.js';

/** Options for {@link detectHost}. */
export interface DetectHostOptions {
  /** Install root whose filesystem's free space is measured (need not exist yet). */
  installRoot: string;
  /** Ports the stack will publish, each with its bind address (`0.0.0.0` or `127.0.0.1`). */
  ports: { port: number; bindAddress: string }[];
  /** Environment (`DOCKER_HOST`, `PATH` for the Compose CLI, ...). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Prefix for `/proc` and `/sys` reads (default `/`), so tests can point detection at a fixture
   * tree. Disk, Docker, Compose and OS facts always come from the real machine. Default: host
   * mode from `CAREBOX_HOST_ROOT`/`CAREBOX_HOST_PID` in `env` (the containerised CLI; see
   * `hostModeFromEnv`), else `/`.
   */
  fsRoot?: string;
  /** The stack's Compose project name, to recognise ports it already publishes. Default `carebox`. */
  composeProject?: string;
  /** Bound for each Docker call, statfs and probe, ms (default 3000). */
  timeoutMs?: number;
}

/** Whether this process runs as root or with the `docker` group among its groups. */
async function isPrivileged(): Promise<boolean> {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return true;
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  const docker = findGroup(text, 'docker');
  if (docker === null || typeof process.getgroups !== 'function') return false;
  return process.getgroups().includes(docker.gid);
}

/** OS facts from systeminformation, falling back to Node's `os` module. */
async function osFacts(timeoutMs: number): Promise<Omit<HostFacts['os'], 'privileged'>> {
  try {
    const o = await withTimeout(si.osInfo(), timeoutMs, 'systeminformation osInfo()');
    return {
      platform: o.platform || os.platform(),
      kernel: o.kernel || os.release(),
      arch: o.arch || os.arch(),
      distro: [o.distro, o.release].filter((s) => s && s !== 'unknown').join(' ') || 'unknown',
    };
  } catch {
    return { platform: os.platform(), kernel: os.release(), arch: os.arch(), distro: 'unknown' };
  }
}

/**
 * Detects everything the planner and preflight need.
 *
 * - CPUs and memory, host and usable (cgroup v1/v2 quota and limits, cpuset, affinity mask,
 *   `process.constrainedMemory()`, systeminformation as cross-check): see resources.detect.ts.
 * - Docker engine (`/version`, `/info`, negotiated API version, socket permission errors).
 * - Compose CLI flavour and version.
 * - Free disk at the install root and at Docker's data root (statfs of the nearest existing ancestor).
 * - Whether each wanted port is free, and which container holds it.
 * - OS, kernel, distro, and whether this process is root or in the docker group.
 *
 * @returns HostFacts; CPUs may be fractional (≥ 1), memory and disk in bytes. Failures are in
 *   `docker.error`, `compose.error`, null disk facts and `notes`.
 * @throws UsageError only for a malformed CAREBOX_HOST_ROOT / CAREBOX_HOST_PID (host mode).
 */
export async function detectHost(opts: DetectHostOptions): Promise<HostFacts> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const detectedAt = new Date().toISOString();
  // In a container the CLI sizes the host: its /proc and /sys are mounted under CAREBOX_HOST_ROOT.
  const hostMode = opts.fsRoot === undefined ? hostModeFromEnv(env) : null;
  const fsRoot = opts.fsRoot ?? hostMode?.fsRoot;
  const resourcesOpts = fsRoot === undefined ? { timeoutMs } : { fsRoot, timeoutMs, ...(hostMode ? { pid: hostMode.pid } : {}) };
  const overcommitPath = `${fsRoot && fsRoot !== '/' ? fsRoot : ''}/proc/sys/vm/overcommit_memory`;
  const [resources, docker, compose, osInfo, privileged, installDisk, overcommitText] = await Promise.all([
    detectResources(resourcesOpts),
    detectDocker({ env, timeoutMs }),
    detectCompose({ env, timeoutMs: Math.max(timeoutMs, 5000) }),
    osFacts(timeoutMs),
    isPrivileged(),
    detectDisk(opts.installRoot, timeoutMs),
    readFile(overcommitPath, 'utf8').catch(() => null),
  ]);
  const client = dockerClient(docker, env, timeoutMs);
  const [dockerDisk, ports] = await Promise.all([
    docker.dataRoot !== null ? detectDisk(docker.dataRoot, timeoutMs) : Promise.resolve(null),
    detectPorts(opts.ports, {
      docker: client,
      composeProject: opts.composeProject ?? 'carebox',
      ...(fsRoot === undefined ? {} : { fsRoot }),
      timeoutMs,
    }),
  ]);
  const notes = [...resources.notes];
  if (installDisk === null) notes.push(`could not measure free disk at ${opts.installRoot} or any ancestor`);
  if (docker.dataRoot !== null && dockerDisk === null) notes.push(`could not measure free disk at Docker's data root ${docker.dataRoot}`);
  if (dockerDisk !== null && dockerDisk.measuredPath !== dockerDisk.path) {
    notes.push(`Docker's data root ${docker.dataRoot} is not visible here; measured ${dockerDisk.measuredPath} instead`);
  }
  return {
    cpus: resources.cpus,
    hostCpus: resources.hostCpus,
    memoryBytes: resources.memoryBytes,
    hostMemoryBytes: resources.hostMemoryBytes,
    swapBytes: resources.swapBytes,
    cgroupVersion: resources.cgroupVersion,
    overcommitMemory: { value: overcommitText === null ? null : parseOvercommit(overcommitText), source: overcommitPath },
    disk: { installRoot: installDisk, dockerRoot: dockerDisk },
    docker,
    compose,
    ports,
    os: { ...osInfo, privileged },
    detectedAt,
    notes,
  };
}
