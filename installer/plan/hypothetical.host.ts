import { UsageError } from '../errors.js';
import type { PlanHost } from '../detect/host-facts.js';

/** Source recorded on every figure of a {@link hypotheticalHost}. */
export const HYPOTHETICAL_SOURCE = '--cpus/--memory flags';

/**
 * A PlanHost for `carebox plan --cpus N --memory SIZE`: a host that is not this one.
 *
 * Usable and host figures are the same (no container limit is assumed). As with detection, usable
 * CPUs never go below 1 (`--cpus 0.5` plans for 1, as a container limited to half a CPU is
 * detected as 1); the host figure is the CPU count rounded up.
 *
 * @param cpus CPUs, > 0, fractional allowed.
 * @param memoryBytes bytes, a positive integer (see `parseSize`).
 * @param source what every figure names as its source (default the flags; the planner's hints name their own).
 * @throws UsageError when either figure is not a positive finite number.
 */
export function hypotheticalHost(cpus: number, memoryBytes: number, source: string = HYPOTHETICAL_SOURCE): PlanHost {
  if (!Number.isFinite(cpus) || cpus <= 0) {
    throw new UsageError(`--cpus must be a positive number, got ${cpus}`, 'e.g. --cpus 4 or --cpus 1.5');
  }
  if (!Number.isFinite(memoryBytes) || memoryBytes <= 0) {
    throw new UsageError(`--memory must be a positive size, got ${memoryBytes}`, 'e.g. --memory 8g or --memory 512MiB');
  }
  const bytes = Math.floor(memoryBytes);
  return {
    cpus: { value: cpus, source },
    hostCpus: { value: Math.max(1, Math.ceil(cpus)), source },
    memoryBytes: { value: bytes, source },
    hostMemoryBytes: { value: bytes, source },
  };
}
