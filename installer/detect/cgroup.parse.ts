/**
 * Pure parsers for cgroup files, v1 and v2. File contents in, limits out; no I/O.
 *
 * Conventions: a CPU limit is a number of CPUs (fractional: a quota of 150000/100000 is 1.5); a
 * memory limit is bytes; `null` means "this file sets no limit" (v2 `max`, v1 `-1` or the
 * page-rounded LONG_MAX the kernel prints for "unlimited"). A file that does not hold what its
 * format promises is `ok: false` with a reason, never an exception.
 */
import { malformed, parsed, quote, type Parsed } from './parse-result.js';

/** This process's cgroup membership, from `/proc/self/cgroup`. */
export interface ProcCgroup {
  /** The cgroup v2 path (line `0::/path`), or null when the process is in no unified hierarchy. */
  v2Path: string | null;
  /** cgroup v1 path by controller (line `N:cpu,cpuacct:/path` gives both `cpu` and `cpuacct`). */
  v1: Map<string, string>;
}

/**
 * Parses `/proc/self/cgroup`: lines `hierarchy-ID:controller-list:cgroup-path`.
 * cgroup v1 lines name their controllers (`4:memory:/docker/abc`, `1:name=systemd:/`); the v2
 * line is `0::/path`; a hybrid host has both.
 *
 * @returns the paths by controller; `ok: false` when no line is well formed (empty or garbage file).
 */
export function parseProcCgroup(text: string): Parsed<ProcCgroup> {
  let v2Path: string | null = null;
  const v1 = new Map<string, string>();
  let good = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line);
    if (!m) continue;
    const [, id, controllers, path] = m as unknown as [string, string, string, string];
    good += 1;
    if (id === '0' && controllers === '') {
      v2Path = path;
    } else {
      for (const c of controllers.split(',')) if (c !== '') v1.set(c, path);
    }
  }
  if (good === 0) return malformed(`no cgroup line in ${quote(text)}`);
  return parsed({ v2Path, v1 });
}

/**
 * A non-negative integer byte value as the kernel prints it. Values above 2^53 − 1 (8 PiB) are
 * the kernel's spellings of "unlimited" (v1 prints 9223372036854771712), so they become null.
 */
function parseBytesOrUnlimited(text: string, file: string): Parsed<number | null> {
  const t = text.trim();
  if (t === 'max' || t === '-1') return parsed(null);
  if (!/^\d+$/.test(t)) return malformed(`${file} is not a byte count: ${quote(text)}`);
  const big = BigInt(t);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return parsed(null);
  const n = Number(big);
  if (n === 0) return malformed(`${file} is 0, which no running process can have`);
  return parsed(n);
}

/**
 * Parses cgroup v2 `cpu.max`: `$MAX $PERIOD`, e.g. `150000 100000` (1.5 CPUs) or `max 100000`
 * (no quota). A lone `max` is accepted too.
 *
 * @returns CPUs (quota ÷ period, may be fractional, > 0), or null for no quota.
 */
export function parseCpuMax(text: string): Parsed<number | null> {
  const f = text.trim().split(/\s+/);
  if (f[0] === 'max' && f.length <= 2 && (f[1] === undefined || /^\d+$/.test(f[1]))) return parsed(null);
  if (f.length !== 2 || !/^\d+$/.test(f[0] ?? '') || !/^\d+$/.test(f[1] ?? '')) {
    return malformed(`cpu.max is not '<quota|max> <period>': ${quote(text)}`);
  }
  const quota = Number(f[0]);
  const period = Number(f[1]);
  if (quota <= 0 || period <= 0) return malformed(`cpu.max has a zero quota or period: ${quote(text)}`);
  return parsed(quota / period);
}

/**
 * Parses cgroup v1 `cpu.cfs_quota_us` (µs per period, `-1` = no quota) with `cpu.cfs_period_us`.
 *
 * @param quotaText contents of `cpu.cfs_quota_us`.
 * @param periodText contents of `cpu.cfs_period_us`, or null when that file is missing (only
 *   acceptable when there is no quota).
 * @returns CPUs (quota ÷ period, may be fractional), or null for no quota.
 */
export function parseCfsQuota(quotaText: string, periodText: string | null): Parsed<number | null> {
  const q = quotaText.trim();
  if (!/^-?\d+$/.test(q)) return malformed(`cpu.cfs_quota_us is not an integer: ${quote(quotaText)}`);
  const quota = Number(q);
  if (quota < 0) return parsed(null);
  if (quota === 0) return malformed('cpu.cfs_quota_us is 0');
  if (periodText === null) return malformed('cpu.cfs_quota_us is set but cpu.cfs_period_us is missing');
  const p = periodText.trim();
  if (!/^\d+$/.test(p) || Number(p) === 0) {
    return malformed(`cpu.cfs_period_us is not a positive integer: ${quote(periodText)}`);
  }
  return parsed(quota / Number(p));
}

/**
 * Parses cgroup v2 `memory.max` or `memory.swap.max`: bytes, or `max` for no limit.
 *
 * @returns bytes (> 0), or null for no limit.
 */
export function parseMemoryMax(text: string): Parsed<number | null> {
  return parseBytesOrUnlimited(text, 'memory.max');
}

/**
 * Parses cgroup v1 `memory.limit_in_bytes` (or `memory.memsw.limit_in_bytes`): bytes; a huge
 * value such as 9223372036854771712 (LONG_MAX rounded down to a page) means no limit.
 *
 * @returns bytes (> 0), or null for no limit.
 */
export function parseMemoryLimitInBytes(text: string): Parsed<number | null> {
  return parseBytesOrUnlimited(text, 'memory.limit_in_bytes');
}

/**
 * Reads `hierarchical_memory_limit` from cgroup v1 `memory.stat`: the smallest limit of this
 * cgroup and all its ancestors, including ancestors outside the container's view.
 *
 * @returns bytes, or null for no limit; `ok: false` when the line is missing or malformed.
 */
export function parseV1HierarchicalMemoryLimit(memoryStatText: string): Parsed<number | null> {
  const m = /^hierarchical_memory_limit\s+(\S+)\s*$/m.exec(memoryStatText);
  if (!m) return malformed('memory.stat has no hierarchical_memory_limit line');
  return parseBytesOrUnlimited(m[1] ?? '', 'hierarchical_memory_limit');
}
