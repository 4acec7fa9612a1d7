/**
 * Pure parser for `/proc/self/mountinfo` (proc(5)), used to find where each cgroup hierarchy is
 * mounted and which part of it (the mount's root) this mount namespace sees.
 */

/** One line of mountinfo. Paths have their octal escapes (`\040` for a space) decoded. */
export interface MountEntry {
  mountId: number;
  parentId: number;
  /** Path inside the filesystem that is mounted here (for cgroups: the cgroup seen as `/`). */
  root: string;
  /** Where it is mounted in this mount namespace, e.g. `/sys/fs/cgroup/memory`. */
  mountPoint: string;
  /** Filesystem type after the ` - ` separator: `cgroup2`, `cgroup`, `tmpfs`, ... */
  fsType: string;
  source: string;
  /** Per-superblock options; for cgroup v1 these name the controllers (`rw,cpu,cpuacct`). */
  superOptions: string[];
}

/** Decodes the `\ooo` octal escapes the kernel uses for space, tab, newline and backslash. */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Parses mountinfo text: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS`.
 *
 * @returns the well-formed entries in file order; malformed lines are skipped (never throws),
 *   so an empty or garbage file gives `[]`.
 */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 3) continue;
    const mountId = Number(f[0]);
    const parentId = Number(f[1]);
    if (!Number.isInteger(mountId) || !Number.isInteger(parentId) || !/^\d+:\d+$/.test(f[2] ?? '')) continue;
    const root = unescapeMountPath(f[3] ?? '');
    const mountPoint = unescapeMountPath(f[4] ?? '');
    if (!root.startsWith('/') || !mountPoint.startsWith('/')) continue;
    entries.push({
      mountId,
      parentId,
      root,
      mountPoint,
      fsType: f[sep + 1] ?? '',
      source: unescapeMountPath(f[sep + 2] ?? ''),
      superOptions: (f[sep + 3] ?? '').split(',').filter((o) => o !== ''),
    });
  }
  return entries;
}

/** Where the cgroup hierarchies are mounted. */
export interface CgroupMounts {
  /** The cgroup2 (unified) mount, or null. On a hybrid host this is `/sys/fs/cgroup/unified`. */
  v2: MountEntry | null;
  /** cgroup v1 mounts by controller (`cpu`, `memory`, `cpuset`, `name=systemd`, ...). */
  v1: Map<string, MountEntry>;
}

/** v1 super options that are mount flags, not controller names. */
const V1_NON_CONTROLLER = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode']);

/**
 * Picks the cgroup mounts out of parsed mountinfo. When a hierarchy is mounted more than once
 * (bind mounts into nested containers), the first mount under `/sys/fs/cgroup` wins, else the
 * first one listed, so the choice is deterministic.
 */
export function findCgroupMounts(entries: MountEntry[]): CgroupMounts {
  const preferred = (a: MountEntry | undefined, b: MountEntry): MountEntry => {
    if (a === undefined) return b;
    const aStd = a.mountPoint.startsWith('/sys/fs/cgroup');
    const bStd = b.mountPoint.startsWith('/sys/fs/cgroup');
    return !aStd && bStd ? b : a;
  };
  let v2: MountEntry | undefined;
  const v1 = new Map<string, MountEntry>();
  for (const e of entries) {
    if (e.fsType === 'cgroup2') {
      v2 = preferred(v2, e);
    } else if (e.fsType === 'cgroup') {
      for (const opt of e.superOptions) {
        if (V1_NON_CONTROLLER.has(opt) || opt.startsWith('release_agent=')) continue;
        v1.set(opt, preferred(v1.get(opt), e));
      }
    }
  }
  return { v2: v2 ?? null, v1 };
}
