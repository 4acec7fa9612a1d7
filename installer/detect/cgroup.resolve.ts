/**
 * Pure cgroup resolution in two steps, so that all logic is testable without I/O:
 *
 *  1. {@link resolveCgroupLayout}: from `/proc/self/cgroup` and `/proc/self/mountinfo`, find for
 *     each controller (cpu, memory, cpuset) which hierarchy (v1 or v2) governs it and which
 *     directories hold this process's cgroup and its ancestors.
 *  2. {@link evaluateCgroupLimits}: from the contents of the files {@link cgroupFiles} names
 *     (read by the caller), compute the tightest CPU quota, cpuset, memory and swap limits.
 *
 * Limits on a parent cgroup bind its children, so every readable level from the process's own
 * cgroup up to the mount point is checked and the minimum is taken. Inside a container the mount
 * point usually *is* the container's cgroup: its ancestors are out of view (v1 `memory.stat`'s
 * `hierarchical_memory_limit` still accounts for them).
 *
 * All paths here are absolute paths in the process's mount namespace (`/sys/fs/cgroup/...`); the
 * reader adds its `fsRoot` prefix when it opens them.
 */
import { posix } from 'node:path';
import type { Fact } from './host-facts.js';
import { countCpuList } from './cpu.parse.js';
import {
  parseCfsQuota,
  parseCpuMax,
  parseMemoryLimitInBytes,
  parseMemoryMax,
  parseProcCgroup,
  parseV1HierarchicalMemoryLimit,
  type ProcCgroup,
} from './cgroup.parse.js';
import { findCgroupMounts, parseMountinfo, type CgroupMounts } from './mountinfo.parse.js';

/** How cgroups are mounted: pure v1, pure v2 (unified), hybrid (v1 controllers + a v2 tree), none found. */
export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none';

/** Where one controller's files are. */
export interface ControllerLocation {
  version: 1 | 2;
  /** This process's cgroup directory first, then each ancestor up to and including the mount point. */
  dirs: string[];
}

/** The result of step 1: which directories to read for each controller. */
export interface CgroupLayout {
  mode: CgroupMode;
  /** True when mountinfo gave no cgroup mounts and the conventional paths under /sys/fs/cgroup are guessed. */
  guessed: boolean;
  /** Candidate locations per controller, in order of preference (one, unless guessed). */
  cpu: ControllerLocation[];
  memory: ControllerLocation[];
  cpuset: ControllerLocation[];
  /** What was missing or odd in /proc/self/cgroup or mountinfo, for the facts' sources. */
  notes: string[];
}

type Controller = 'cpu' | 'memory' | 'cpuset';

/**
 * Joins a process's cgroup path onto a hierarchy's mount and lists the directory and its
 * ancestors up to the mount point, nearest first.
 *
 * The mount shows the hierarchy from `mountRoot` down (`/` on a host; the container's own cgroup,
 * e.g. `/docker/abc`, inside a container without a cgroup namespace). A process path outside the
 * mount root (or with `/..` segments, as a cgroup namespace prints for cgroups outside it) cannot
 * be joined; then only the mount point is read, and `outside` is true.
 */
export function cgroupDirs(mountPoint: string, mountRoot: string, processPath: string): { dirs: string[]; outside: boolean } {
  const root = mountRoot === '/' ? '' : mountRoot.replace(/\/+$/, '');
  let rel: string;
  let outside = false;
  if (processPath.split('/').includes('..')) {
    rel = '';
    outside = true;
  } else if (root === '') {
    rel = processPath;
  } else if (processPath === root || processPath.startsWith(`${root}/`)) {
    rel = processPath.slice(root.length);
  } else {
    rel = '';
    outside = true;
  }
  const segs = rel.split('/').filter((s) => s !== '');
  const dirs: string[] = [];
  for (let i = segs.length; i >= 0; i -= 1) dirs.push(posix.join(mountPoint, ...segs.slice(0, i)));
  return { dirs, outside };
}

/** Conventional mount points, used only when mountinfo names no cgroup mount. */
const GUESSED_V1_MOUNTS: Readonly<Record<Controller, string[]>> = {
  cpu: ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpu'],
  memory: ['/sys/fs/cgroup/memory'],
  cpuset: ['/sys/fs/cgroup/cpuset'],
};

/**
 * Step 1: decides, per controller, the hierarchy and the directories to read.
 *
 * @param procSelfCgroup contents of `/proc/self/cgroup`, or null when unreadable. When missing or
 *   malformed, the process is assumed to sit at the root of each mount (true in a container).
 * @param mountinfo contents of `/proc/self/mountinfo`, or null. When it names no cgroup mount,
 *   the conventional paths (`/sys/fs/cgroup` for v2, `/sys/fs/cgroup/<controller>` for v1) are
 *   all proposed and `guessed` is set; the evaluator then uses whichever files exist.
 * @param procDir the /proc directory those came from (`/proc/self`, or `/proc/<pid>` in host mode), for the notes.
 */
export function resolveCgroupLayout(procSelfCgroup: string | null, mountinfo: string | null, procDir = '/proc/self'): CgroupLayout {
  const notes: string[] = [];
  let proc: ProcCgroup;
  const parsedProc = procSelfCgroup === null ? null : parseProcCgroup(procSelfCgroup);
  if (parsedProc?.ok) {
    proc = parsedProc.value;
  } else {
    notes.push(
      parsedProc === null
        ? `${procDir}/cgroup unreadable, assumed root of each hierarchy`
        : `${procDir}/cgroup malformed (${parsedProc.reason}), assumed root of each hierarchy`,
    );
    proc = { v2Path: null, v1: new Map() };
  }
  const mounts: CgroupMounts = mountinfo === null ? { v2: null, v1: new Map() } : findCgroupMounts(parseMountinfo(mountinfo));
  const controllers: Controller[] = ['cpu', 'memory', 'cpuset'];

  if (mounts.v2 === null && mounts.v1.size === 0) {
    notes.push(
      mountinfo === null
        ? `${procDir}/mountinfo unreadable, guessed /sys/fs/cgroup paths`
        : `${procDir}/mountinfo lists no cgroup mount, guessed /sys/fs/cgroup paths`,
    );
    const guess = (c: Controller): ControllerLocation[] => [
      { version: 2, dirs: cgroupDirs('/sys/fs/cgroup', '/', proc.v2Path ?? '/').dirs },
      ...GUESSED_V1_MOUNTS[c].map((mp) => ({ version: 1 as const, dirs: cgroupDirs(mp, '/', proc.v1.get(c) ?? '/').dirs })),
    ];
    return { mode: 'none', guessed: true, cpu: guess('cpu'), memory: guess('memory'), cpuset: guess('cpuset'), notes };
  }

  const locate = (c: Controller): ControllerLocation[] => {
    const v1 = mounts.v1.get(c);
    if (v1 !== undefined) {
      const path = proc.v1.get(c) ?? '/';
      const { dirs, outside } = cgroupDirs(v1.mountPoint, v1.root, path);
      if (outside) notes.push(`cgroup v1 ${c} path ${path} is outside the mount root ${v1.root}, read ${v1.mountPoint}`);
      return [{ version: 1, dirs }];
    }
    if (mounts.v2 !== null) {
      const path = proc.v2Path ?? '/';
      const { dirs, outside } = cgroupDirs(mounts.v2.mountPoint, mounts.v2.root, path);
      if (outside) notes.push(`cgroup v2 path ${path} is outside the mount root ${mounts.v2.root}, read ${mounts.v2.mountPoint}`);
      return [{ version: 2, dirs }];
    }
    return [];
  };
  const byController = { cpu: locate('cpu'), memory: locate('memory'), cpuset: locate('cpuset') };
  // Only resource controllers count: a pure v2 host may still mount a named v1 hierarchy
  // (`name=systemd`) for old containers, and that does not make it hybrid.
  const anyV1 = controllers.some((c) => mounts.v1.has(c));
  const mode: CgroupMode = anyV1 ? (mounts.v2 !== null ? 'hybrid' : 'v1') : mounts.v2 !== null ? 'v2' : 'v1';
  // Notes may repeat when two controllers share a mount; keep each once.
  return { mode, guessed: false, ...byController, notes: [...new Set(notes)] };
}

/** The file names read for a controller at a given hierarchy version. */
const FILES: Readonly<Record<Controller, Readonly<Record<1 | 2, string[]>>>> = {
  cpu: { 2: ['cpu.max'], 1: ['cpu.cfs_quota_us', 'cpu.cfs_period_us'] },
  memory: { 2: ['memory.max', 'memory.swap.max'], 1: ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes', 'memory.stat'] },
  cpuset: { 2: ['cpuset.cpus.effective'], 1: ['cpuset.effective_cpus', 'cpuset.cpus'] },
};

/** Every file step 2 may look at, so the reader can read them all up front. Missing ones are fine. */
export function cgroupFiles(layout: CgroupLayout): string[] {
  const out = new Set<string>();
  for (const c of ['cpu', 'memory', 'cpuset'] as const) {
    for (const loc of layout[c]) {
      loc.dirs.forEach((dir, i) => {
        for (const f of FILES[c][loc.version]) {
          // Only the process's own memory.stat is read: its hierarchical figure covers the ancestors.
          if (f === 'memory.stat' && i > 0) continue;
          out.add(posix.join(dir, f));
        }
      });
    }
  }
  return [...out];
}

/** One limit the cgroup files impose, plus what was seen on the way (for the fact's source). */
export interface LimitFinding {
  /** The tightest limit found (CPUs or bytes) and the file it came from; null when none is set. */
  limit: Fact<number> | null;
  /** Short remarks: "cgroup v2 cpu.max: no quota", "cgroup v1 ... malformed (...)", "no cgroup cpu files". */
  remarks: string[];
}

/** The result of step 2. */
export interface CgroupLimits {
  /** The hierarchy whose cpu/memory files governed: from the layout, or from the files found when guessed. */
  version: 1 | 2 | null;
  mode: CgroupMode;
  /** CPU quota in CPUs (fractional allowed). */
  cpuQuota: LimitFinding;
  /** Number of CPUs in the effective cpuset. */
  cpuset: LimitFinding;
  /** Memory limit in bytes. */
  memory: LimitFinding;
  /** Swap the cgroup allows on top of memory, in bytes (v2 memory.swap.max; v1 memsw − memory). */
  swap: LimitFinding;
  /** Layout notes (missing /proc/self/cgroup, guessed paths). */
  notes: string[];
}

/** Keeps the smaller candidate; on a tie the earlier one (nearer the process) wins. */
function tighter(a: Fact<number> | null, b: Fact<number>): Fact<number> {
  return a === null || b.value < a.value ? b : a;
}

/** Contents of `name` in cgroup directory `dir`, or null when it was not read. */
type CgroupRead = (dir: string, name: string) => string | null;

/**
 * Step 2: computes the limits from file contents.
 *
 * @param layout the result of {@link resolveCgroupLayout}.
 * @param files contents by absolute path, for the paths of {@link cgroupFiles} that could be
 *   read; a path absent from the map is a missing or unreadable file.
 * @returns the tightest CPU quota, cpuset size, memory and swap limit (each null when unset),
 *   with remarks on unlimited, missing and malformed files. Never throws.
 */
export function evaluateCgroupLimits(layout: CgroupLayout, files: ReadonlyMap<string, string>): CgroupLimits {
  const read: CgroupRead = (dir, name) => files.get(posix.join(dir, name)) ?? null;
  // The cgroup versions whose files were found (decides the version when the layout was guessed).
  const seen = new Set<1 | 2>();
  const cpuQuota = cpuQuotaLimit(layout, read, seen);
  const cpuset = cpusetLimit(layout, read, seen);
  const { memory, swap } = memoryAndSwapLimits(layout, read, seen);

  let version: 1 | 2 | null;
  if (!layout.guessed) version = layout.mode === 'v2' ? 2 : layout.mode === 'none' ? null : 1;
  else version = seen.has(2) ? 2 : seen.has(1) ? 1 : null;
  const mode: CgroupMode = layout.guessed ? (version === 2 ? 'v2' : version === 1 ? 'v1' : 'none') : layout.mode;
  return { version, mode, cpuQuota, cpuset, memory, swap, notes: layout.notes };
}

/** CPU quota: the tightest over every level of the hierarchy. Adds the versions it finds to `seen`. */
function cpuQuotaLimit(layout: CgroupLayout, read: CgroupRead, seen: Set<1 | 2>): LimitFinding {
  const cpuQuota: LimitFinding = { limit: null, remarks: [] };
  let quotaFiles = 0;
  let quotaUnlimited = '';
  for (const loc of layout.cpu) {
    for (const dir of loc.dirs) {
      const label = loc.version === 2 ? 'cgroup v2 cpu.max' : 'cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us';
      const main = read(dir, loc.version === 2 ? 'cpu.max' : 'cpu.cfs_quota_us');
      if (main === null) continue;
      quotaFiles += 1;
      seen.add(loc.version);
      const p = loc.version === 2 ? parseCpuMax(main) : parseCfsQuota(main, read(dir, 'cpu.cfs_period_us'));
      if (!p.ok) cpuQuota.remarks.push(`${label} in ${dir} ignored: ${p.reason}`);
      else if (p.value === null) quotaUnlimited = `${label}: no quota`;
      else cpuQuota.limit = tighter(cpuQuota.limit, { value: p.value, source: `${label} in ${dir}` });
    }
  }
  if (cpuQuota.limit === null && quotaUnlimited !== '') cpuQuota.remarks.push(quotaUnlimited);
  if (quotaFiles === 0) cpuQuota.remarks.push('no cgroup CPU quota file readable');
  return cpuQuota;
}

/** cpuset: the nearest level that has a usable list (the kernel keeps children within parents). Adds to `seen`. */
function cpusetLimit(layout: CgroupLayout, read: CgroupRead, seen: Set<1 | 2>): LimitFinding {
  const cpuset: LimitFinding = { limit: null, remarks: [] };
  for (const loc of layout.cpuset) {
    for (const dir of loc.dirs) {
      for (const name of FILES.cpuset[loc.version]) {
        const text = read(dir, name);
        if (text === null) continue;
        seen.add(loc.version);
        const label = `cgroup v${loc.version} ${name}`;
        const n = countCpuList(text);
        if (!n.ok) {
          cpuset.remarks.push(`${label} in ${dir} ignored: ${n.reason}`);
          continue;
        }
        cpuset.limit = { value: n.value, source: `${label} in ${dir}` };
        return cpuset;
      }
    }
  }
  return cpuset;
}

/** Memory and swap: every level, plus v1's hierarchical figure which sees hidden ancestors. Adds to `seen`. */
function memoryAndSwapLimits(layout: CgroupLayout, read: CgroupRead, seen: Set<1 | 2>): { memory: LimitFinding; swap: LimitFinding } {
  const memory: LimitFinding = { limit: null, remarks: [] };
  const swap: LimitFinding = { limit: null, remarks: [] };
  let memFiles = 0;
  let memUnlimited = '';
  for (const loc of layout.memory) {
    const memName = loc.version === 2 ? 'memory.max' : 'memory.limit_in_bytes';
    const label = `cgroup v${loc.version} ${memName}`;
    for (const dir of loc.dirs) {
      const text = read(dir, memName);
      let memHere: number | null = null;
      if (text !== null) {
        memFiles += 1;
        seen.add(loc.version);
        const p = loc.version === 2 ? parseMemoryMax(text) : parseMemoryLimitInBytes(text);
        if (!p.ok) memory.remarks.push(`${label} in ${dir} ignored: ${p.reason}`);
        else if (p.value === null) memUnlimited = `${label}: no limit`;
        else {
          memHere = p.value;
          memory.limit = tighter(memory.limit, { value: p.value, source: `${label} in ${dir}` });
        }
      }
      const here = swapHere(loc.version, dir, read, memHere);
      if (here) swap.limit = tighter(swap.limit, here);
    }
    const leaf = loc.dirs[0];
    const stat = loc.version === 1 && leaf !== undefined ? read(leaf, 'memory.stat') : null;
    if (stat !== null && leaf !== undefined) {
      seen.add(1);
      const h = parseV1HierarchicalMemoryLimit(stat);
      if (h.ok && h.value !== null) {
        memory.limit = tighter(memory.limit, { value: h.value, source: `cgroup v1 memory.stat hierarchical_memory_limit in ${leaf}` });
      } else if (!h.ok) {
        memory.remarks.push(`cgroup v1 memory.stat in ${leaf} ignored: ${h.reason}`);
      }
    }
  }
  if (memory.limit === null && memUnlimited !== '') memory.remarks.push(memUnlimited);
  if (memFiles === 0) memory.remarks.push('no cgroup memory limit file readable');
  return { memory, swap };
}

/** The swap one cgroup directory allows, or null when it sets none (or its file is unusable). `memHere`: its memory limit. */
function swapHere(version: 1 | 2, dir: string, read: CgroupRead, memHere: number | null): Fact<number> | null {
  const swapText = read(dir, version === 2 ? 'memory.swap.max' : 'memory.memsw.limit_in_bytes');
  if (swapText === null) return null;
  const s = version === 2 ? parseMemoryMax(swapText) : parseMemoryLimitInBytes(swapText);
  if (version === 2 && s.ok && s.value !== null) return { value: s.value, source: `cgroup v2 memory.swap.max in ${dir}` };
  // `parseMemoryMax` rejects 0 as a memory limit, but 0 is the ordinary "no swap" setting.
  if (version === 2 && swapText.trim() === '0') return { value: 0, source: `cgroup v2 memory.swap.max in ${dir}` };
  if (version === 1 && s.ok && s.value !== null && memHere !== null) {
    // v1 memsw limits memory + swap together, so swap allowed = memsw − memory.
    return { value: Math.max(0, s.value - memHere), source: `cgroup v1 memory.memsw.limit_in_bytes − memory.limit_in_bytes in ${dir}` };
  }
  return null;
}
