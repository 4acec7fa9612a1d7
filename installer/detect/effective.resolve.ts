/**
 * Pure combination of CPU and memory figures from several sources into the usable figures the
 * planner sizes from. Each input is a `Fact` (value + where it came from) or null when that
 * source gave nothing; each output names the source that bound it and what else was seen.
 */
import type { Fact } from './host-facts.js';

/** Inputs for {@link effectiveCpus}, each in CPUs. */
export interface CpuInputs {
  /** CPUs the kernel has online (the host figure). Required: the reader always finds one. */
  online: Fact<number>;
  /** cgroup CPU quota (quota ÷ period, fractional), or null when none is set. */
  quota: Fact<number> | null;
  /** CPUs in the cgroup's effective cpuset, or null. */
  cpuset: Fact<number> | null;
  /** CPUs in this process's affinity mask (`Cpus_allowed_list`, `os.availableParallelism()`), or null. */
  affinity: Fact<number> | null;
  /** Remarks to add when no limit bound the figure (unlimited or malformed sources). */
  remarks?: string[];
}

/** Inputs for {@link effectiveMemory}, each in bytes. */
export interface MemoryInputs {
  /** Memory the kernel reports (`/proc/meminfo` MemTotal). Required. */
  total: Fact<number>;
  /** cgroup memory limit, or null when none is set. */
  cgroup: Fact<number> | null;
  /** `process.constrainedMemory()`, or null when it reports none. */
  constrained: Fact<number> | null;
  remarks?: string[];
}

/** Joins a source and remarks: `src; remark; remark`. */
function withRemarks(source: string, remarks: readonly string[] | undefined): string {
  return remarks === undefined || remarks.length === 0 ? source : `${source}; ${remarks.join('; ')}`;
}

/**
 * The smallest of the candidates; on a tie the earlier one wins. The host figure is listed first,
 * so a limit is named only when it is strictly tighter than the host (a cpuset of all CPUs binds
 * nothing).
 */
function smallest(candidates: (Fact<number> | null)[]): Fact<number> | null {
  let best: Fact<number> | null = null;
  for (const c of candidates) {
    if (c === null || !Number.isFinite(c.value) || c.value <= 0) continue;
    if (best === null || c.value < best.value) best = c;
  }
  return best;
}

/**
 * Usable CPUs = min(online CPUs, cgroup quota, cpuset size, affinity mask size).
 * A fractional quota stays fractional (1.5, or 0.5); the planner decides how to round, and a host
 * below 1 CPU is below every tier's minimum (preflight fails with exit 3 rather than pretending 1).
 *
 * A limit is named only when it is below the online count; between equal limits the quota is
 * named before the cpuset and the affinity mask. When the host figure binds, the remarks (e.g.
 * "cgroup v2 cpu.max: no quota") are appended.
 *
 * @returns CPUs (> 0) with the source that bound them.
 */
export function effectiveCpus(inputs: CpuInputs): Fact<number> {
  const best = smallest([inputs.online, inputs.quota, inputs.cpuset, inputs.affinity]) ?? inputs.online;
  const source = best === inputs.online ? withRemarks(best.source, inputs.remarks) : best.source;
  return { value: best.value, source };
}

/**
 * Usable memory = min(MemTotal, cgroup limit, `process.constrainedMemory()`), bytes.
 *
 * A limit is named only when it is below MemTotal; between equal limits the cgroup file is named
 * before `process.constrainedMemory()`.
 *
 * @returns bytes (> 0) with the source that bound them.
 */
export function effectiveMemory(inputs: MemoryInputs): Fact<number> {
  const best = smallest([inputs.total, inputs.cgroup, inputs.constrained]) ?? inputs.total;
  const source = best === inputs.total ? withRemarks(best.source, inputs.remarks) : best.source;
  return { value: best.value, source };
}

/**
 * Usable swap = min(SwapTotal, the cgroup's swap allowance), bytes; 0 when SwapTotal is unknown
 * and no cgroup allowance is set.
 */
export function effectiveSwap(total: Fact<number> | null, cgroup: Fact<number> | null): Fact<number> {
  if (total === null) return cgroup ?? { value: 0, source: 'no SwapTotal in /proc/meminfo' };
  if (cgroup !== null && cgroup.value < total.value) return cgroup;
  return total;
}
