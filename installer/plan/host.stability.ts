import type { PlanHost } from '../detect/host-facts.js';

/**
 * How far usable memory may drift between two detections of the same host before Carebox
 * re-plans: 2 %. VMs with balloon drivers and kernel updates move MemTotal by a few MiB; re-planning
 * on such noise would change container limits and recreate PostgreSQL on a plain re-run.
 */
export const MEMORY_DRIFT_TOLERANCE = 0.02;

/** A host's disk field alone (absent when it has none). */
function diskOf(h: PlanHost): Pick<PlanHost, 'disk'> {
  return h.disk ? { disk: { dockerRoot: h.disk.dockerRoot } } : {};
}

/**
 * The host figures to plan with on a re-run: the recorded ones when the host is unchanged (same
 * usable CPUs, memory within MEMORY_DRIFT_TOLERANCE), else the new ones. Pure.
 * @returns the figures to plan with and whether the recorded ones were kept.
 */
export function stablePlanHost(recorded: PlanHost | null, detected: PlanHost): { host: PlanHost; kept: boolean } {
  if (!recorded) return { host: detected, kept: false };
  const sameCpus = recorded.cpus.value === detected.cpus.value && recorded.hostCpus.value === detected.hostCpus.value;
  const drift = Math.abs(recorded.memoryBytes.value - detected.memoryBytes.value) / Math.max(1, recorded.memoryBytes.value);
  if (sameCpus && drift <= MEMORY_DRIFT_TOLERANCE) {
    return {
      // The recorded disk too (the log limits are sized from its total), else the detected one.
      host: {
        cpus: recorded.cpus,
        hostCpus: recorded.hostCpus,
        memoryBytes: recorded.memoryBytes,
        hostMemoryBytes: recorded.hostMemoryBytes,
        ...diskOf(recorded.disk?.dockerRoot ? recorded : detected),
      },
      kept: true,
    };
  }
  // A changed host: its own figures; the recorded disk when this detection measured none.
  return { host: detected.disk?.dockerRoot ? detected : { ...detected, ...diskOf(recorded) }, kept: false };
}
