/**
 * Thin reader for CPU, memory, swap and cgroup facts. It reads `/proc` and `/sys` (under an
 * optional `fsRoot`, so tests can point it at a fixture tree), asks systeminformation and Node,
 * and hands everything to the pure parsers and resolvers. It never throws: a missing or
 * malformed file makes that figure fall back to the next source, and the fact's `source` says so.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { posix } from 'node:path';
import si from 'systeminformation';
import type { Fact } from './host-facts.js';
import { countCpuList, parseCpusAllowedList } from './cpu.parse.js';
import { parseMeminfo } from './meminfo.parse.js';
import { cgroupFiles, evaluateCgroupLimits, resolveCgroupLayout, type CgroupLayout, type CgroupLimits } from './cgroup.resolve.js';
import { effectiveCpus, effectiveMemory, effectiveSwap } from './effective.resolve.js';
import { withTimeout } from './timeout.js';
import { UsageError } from '../errors.js';

/** CPU and memory facts, host and usable. CPUs may be fractional; memory in bytes. */
export interface ResourceFacts {
  cpus: Fact<number>;
  hostCpus: Fact<number>;
  memoryBytes: Fact<number>;
  hostMemoryBytes: Fact<number>;
  swapBytes: Fact<number>;
  cgroupVersion: Fact<1 | 2 | null>;
  /** Fallbacks and disagreements, one line each. */
  notes: string[];
}

/** Options for {@link detectResources}. */
export interface ResourceDetectOptions {
  /**
   * Prefix for every `/proc` and `/sys` path (default `/`). With any other root the figures
   * that describe the *running* process rather than files (`process.constrainedMemory()`,
   * `os.availableParallelism()`, the systeminformation cross-check) are left out, because they
   * would describe this machine, not the fixture; host-level fallbacks (systeminformation,
   * `os.cpus()`, `os.totalmem()`) are still used when a file is missing.
   */
  fsRoot?: string;
  /**
   * Whose `/proc/<pid>/{cgroup,mountinfo,status}` describe the process being sized (default
   * `self`). The containerised CLI reads the host's /proc mounted under `fsRoot` and passes the
   * launcher's host pid here, since `/proc/self` there would name the container's own process,
   * in the container's cgroup (see {@link hostModeFromEnv}).
   */
  pid?: string;
  /** Bound for each systeminformation call, ms (default 3000). */
  timeoutMs?: number;
}

/** Where detection reads the host from: `fsRoot` and the pid whose cgroup is sized. */
export interface HostMode {
  fsRoot: string;
  pid: string;
}

/**
 * Host mode from the environment the launcher (cli/carebox.sh) sets when the CLI runs in a
 * container: `CAREBOX_HOST_ROOT` (where the host's /proc and /sys are mounted read-only, e.g.
 * `/host`, the node_exporter convention) and `CAREBOX_HOST_PID` (the launcher's pid on the host,
 * whose cgroup is the one a CLI run on the host would have sized). Null when unset. Pure.
 * @throws UsageError when CAREBOX_HOST_ROOT is not absolute or CAREBOX_HOST_PID is not a pid.
 */
export function hostModeFromEnv(env: NodeJS.ProcessEnv = process.env): HostMode | null {
  const root = env.CAREBOX_HOST_ROOT?.trim();
  if (!root) return null;
  if (!root.startsWith('/')) throw new UsageError(`CAREBOX_HOST_ROOT must be an absolute path, got '${root}'`, 'the launcher sets it to /host');
  const pid = env.CAREBOX_HOST_PID?.trim() || 'self';
  if (pid !== 'self' && !/^[1-9][0-9]{0,9}$/.test(pid)) throw new UsageError(`CAREBOX_HOST_PID must be a process id, got '${pid}'`);
  return { fsRoot: root, pid };
}

/** Reads a text file under fsRoot; null when it is missing or unreadable. */
async function readText(fsRoot: string, path: string): Promise<string | null> {
  try {
    return await readFile(posix.join(fsRoot, path), 'utf8');
  } catch {
    return null;
  }
}

/** `process.constrainedMemory()` as a limit, or null when it reports none (0, undefined or huge). */
function constrainedMemory(): Fact<number> | null {
  const fn = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory;
  const v = typeof fn === 'function' ? fn.call(process) : undefined;
  if (v === undefined || !Number.isFinite(v) || v <= 0 || v > Number.MAX_SAFE_INTEGER) return null;
  return { value: v, source: 'process.constrainedMemory()' };
}

/** A short source for the cgroup version fact. */
function cgroupVersionSource(limits: CgroupLimits, guessed: boolean, proc: string): string {
  if (guessed) {
    return limits.version === null
      ? `no cgroup mount in ${proc}/mountinfo and no cgroup files under /sys/fs/cgroup`
      : `cgroup v${limits.version} files under /sys/fs/cgroup (mountinfo unusable)`;
  }
  switch (limits.mode) {
    case 'v2':
      return `${proc}/mountinfo (cgroup2 unified hierarchy)`;
    case 'v1':
      return `${proc}/mountinfo (cgroup v1 controllers)`;
    case 'hybrid':
      return `${proc}/mountinfo (hybrid: cgroup v1 controllers, cgroup2 tree without them)`;
    default:
      return `${proc}/mountinfo (no cgroup mount)`;
  }
}

/** systeminformation's CPU cores and memory, each asked at most once, bounded by `timeoutMs`; null when unusable. */
interface SiProbes {
  cores: () => Promise<number | null>;
  memory: () => Promise<{ total: number; swaptotal: number } | null>;
}

function siProbes(timeoutMs: number): SiProbes {
  let siCpu: Promise<number | null> | undefined;
  let siMem: Promise<{ total: number; swaptotal: number } | null> | undefined;
  return {
    cores: () =>
      (siCpu ??= withTimeout(si.cpu(), timeoutMs, 'systeminformation cpu()').then(
        (c) => (Number.isInteger(c.cores) && c.cores > 0 ? c.cores : null),
        () => null,
      )),
    memory: () =>
      (siMem ??= withTimeout(si.mem(), timeoutMs, 'systeminformation mem()').then(
        (m) => (m.total > 0 ? { total: m.total, swaptotal: m.swaptotal } : null),
        () => null,
      )),
  };
}

/** cgroup limits: resolve the layout, read every file it names under fsRoot, evaluate. */
async function readCgroupLimits(
  fsRoot: string,
  procCgroup: string | null,
  mountinfo: string | null,
  proc: string,
): Promise<{ layout: CgroupLayout; limits: CgroupLimits }> {
  const layout = resolveCgroupLayout(procCgroup, mountinfo, proc);
  const paths = cgroupFiles(layout);
  const contents = await Promise.all(paths.map((p) => readText(fsRoot, p)));
  const files = new Map<string, string>();
  paths.forEach((p, i) => {
    const c = contents[i];
    if (c !== null && c !== undefined) files.set(p, c);
  });
  return { layout, limits: evaluateCgroupLimits(layout, files) };
}

/** Host CPUs: /sys/devices/system/cpu/online, else systeminformation, else os.cpus(); disagreements go to `notes`. */
async function detectHostCpus(onlineText: string | null, probes: SiProbes, runtime: boolean, notes: string[]): Promise<Fact<number>> {
  let hostCpus: Fact<number> | null = null;
  if (onlineText !== null) {
    const n = countCpuList(onlineText);
    if (n.ok) hostCpus = { value: n.value, source: '/sys/devices/system/cpu/online' };
    else notes.push(`/sys/devices/system/cpu/online ignored: ${n.reason}`);
  } else {
    notes.push('/sys/devices/system/cpu/online unreadable');
  }
  if (hostCpus === null) {
    const cores = await probes.cores();
    if (cores !== null) hostCpus = { value: cores, source: 'systeminformation cpu().cores (/sys/devices/system/cpu/online unusable)' };
  } else if (runtime) {
    const cores = await probes.cores();
    if (cores !== null && cores !== hostCpus.value) {
      notes.push(`systeminformation cpu().cores says ${cores}, /sys/devices/system/cpu/online says ${hostCpus.value}`);
    }
  }
  return hostCpus ?? { value: Math.max(1, os.cpus().length), source: 'os.cpus() (/sys and systeminformation unusable)' };
}

/** Host memory and swap: /proc/meminfo, else systeminformation, else os.totalmem() (swap then unknown); notes as above. */
async function detectHostMemory(
  meminfoText: string | null,
  probes: SiProbes,
  runtime: boolean,
  notes: string[],
): Promise<{ hostMemory: Fact<number>; swapTotal: Fact<number> | null }> {
  let hostMemory: Fact<number> | null = null;
  let swapTotal: Fact<number> | null = null;
  const meminfo = meminfoText === null ? null : parseMeminfo(meminfoText);
  if (meminfo?.ok) {
    hostMemory = { value: meminfo.value.memTotalBytes, source: '/proc/meminfo MemTotal' };
    if (meminfo.value.swapTotalBytes !== null) {
      swapTotal = { value: meminfo.value.swapTotalBytes, source: '/proc/meminfo SwapTotal' };
    }
    if (runtime) {
      const m = await probes.memory();
      if (m !== null && m.total !== hostMemory.value) {
        notes.push(`systeminformation mem().total says ${m.total}, /proc/meminfo MemTotal says ${hostMemory.value}`);
      }
    }
  } else {
    notes.push(meminfo === null ? '/proc/meminfo unreadable' : `/proc/meminfo ignored: ${meminfo.reason}`);
    const m = await probes.memory();
    if (m !== null) {
      hostMemory = { value: m.total, source: 'systeminformation mem().total (/proc/meminfo unusable)' };
      swapTotal = { value: m.swaptotal, source: 'systeminformation mem().swaptotal (/proc/meminfo unusable)' };
    }
  }
  hostMemory ??= { value: os.totalmem(), source: 'os.totalmem() (/proc/meminfo and systeminformation unusable)' };
  return { hostMemory, swapTotal };
}

/** The affinity mask: /proc/<pid>/status Cpus_allowed_list, else (the running process only) os.availableParallelism(). */
function detectAffinity(status: string | null, proc: string, runtime: boolean, notes: string[]): Fact<number> | null {
  let affinity: Fact<number> | null = null;
  if (status !== null) {
    const n = parseCpusAllowedList(status);
    if (n.ok) affinity = { value: n.value, source: `${proc}/status Cpus_allowed_list` };
    else notes.push(`${proc}/status ignored: ${n.reason}`);
  } else {
    notes.push(`${proc}/status unreadable`);
  }
  if (affinity === null && runtime) {
    affinity = { value: os.availableParallelism(), source: 'os.availableParallelism()' };
  }
  return affinity;
}

/**
 * Detects host and usable CPUs, memory and swap, and the cgroup version.
 *
 * Sources, in order of preference:
 * - host CPUs: `/sys/devices/system/cpu/online` → systeminformation `cpu().cores` → `os.cpus()`;
 * - host memory: `/proc/meminfo` MemTotal → systeminformation `mem().total` → `os.totalmem()`;
 * - swap: `/proc/meminfo` SwapTotal → systeminformation `mem().swaptotal`, capped by the cgroup;
 * - limits: cgroup v1/v2 files for this process's cgroup and each ancestor (see cgroup.resolve.ts),
 *   the affinity mask (`/proc/self/status` → `os.availableParallelism()`), `process.constrainedMemory()`.
 *
 * @returns usable CPUs (≥ 1, fractional allowed) and bytes, each with its source. Never throws.
 */
export async function detectResources(opts: ResourceDetectOptions = {}): Promise<ResourceFacts> {
  const fsRoot = opts.fsRoot ?? '/';
  const pid = opts.pid ?? 'self';
  const proc = `/proc/${pid}`;
  // Figures of the running process describe it only when it is the process being sized.
  const runtime = posix.resolve(fsRoot) === '/' && (pid === 'self' || pid === String(process.pid));
  const probes = siProbes(opts.timeoutMs ?? 3000);
  const notes: string[] = [];

  const [procCgroup, mountinfo, status, meminfoText, onlineText] = await Promise.all([
    readText(fsRoot, `${proc}/cgroup`),
    readText(fsRoot, `${proc}/mountinfo`),
    readText(fsRoot, `${proc}/status`),
    readText(fsRoot, '/proc/meminfo'),
    readText(fsRoot, '/sys/devices/system/cpu/online'),
  ]);

  const { layout, limits } = await readCgroupLimits(fsRoot, procCgroup, mountinfo, proc);
  notes.push(...limits.notes);
  // Notes are pushed in this order: cgroup, host CPUs, host memory, affinity, malformed limits.
  const hostCpus = await detectHostCpus(onlineText, probes, runtime, notes);
  const { hostMemory, swapTotal } = await detectHostMemory(meminfoText, probes, runtime, notes);
  const affinity = detectAffinity(status, proc, runtime, notes);

  const cpus = effectiveCpus({
    online: hostCpus,
    quota: limits.cpuQuota.limit,
    cpuset: limits.cpuset.limit,
    affinity,
    remarks: [...limits.cpuQuota.remarks, ...limits.cpuset.remarks],
  });
  const memoryBytes = effectiveMemory({
    total: hostMemory,
    cgroup: limits.memory.limit,
    constrained: runtime ? constrainedMemory() : null,
    remarks: limits.memory.remarks,
  });
  // Remarks about malformed files matter even when another limit bound the figure.
  for (const r of [...limits.cpuQuota.remarks, ...limits.cpuset.remarks, ...limits.memory.remarks]) {
    if (r.includes(' ignored: ')) notes.push(r);
  }

  return {
    cpus,
    hostCpus,
    memoryBytes,
    hostMemoryBytes: hostMemory,
    swapBytes: effectiveSwap(swapTotal, limits.swap.limit),
    cgroupVersion: { value: limits.version, source: cgroupVersionSource(limits, layout.guessed, proc) },
    notes: [...new Set(notes)],
  };
}
