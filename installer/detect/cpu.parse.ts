/**
 * Pure parsers for CPU sets: the kernel's CPU list syntax and the affinity mask in
 * `/proc/self/status`. File contents in, CPU counts out; no I/O.
 */
import { malformed, parsed, quote, type Parsed } from './parse-result.js';

/** Upper bound on a CPU index we accept (the kernel's NR_CPUS maximum is 8192). */
const MAX_CPU_INDEX = 65535;

/**
 * Parses the kernel's CPU list syntax (`cpuset.cpus`, `cpuset.cpus.effective`,
 * `/sys/devices/system/cpu/online`, `Cpus_allowed_list`): comma-separated CPU numbers and
 * inclusive ranges, e.g. `0-3,8,10-11` → [0,1,2,3,8,10,11]. Ranges may carry a stride
 * (`0-7:2` → 0,2,4,6, as accepted by cpuset). Whitespace around the list is ignored.
 *
 * @returns the sorted, de-duplicated CPU indices. An empty list (`""` or `"\n"`) is valid and
 *   means "no CPUs" (a cpuset whose parent has not been configured yet); callers treat it as
 *   "no information". Garbage, reversed ranges and indices above 65535 are `ok: false`.
 */
export function parseCpuList(text: string): Parsed<number[]> {
  const t = text.trim();
  if (t === '') return parsed([]);
  const cpus = new Set<number>();
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) return malformed(`not a CPU list: ${quote(text)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    const stride = m[3] === undefined ? 1 : Number(m[3]);
    if (hi < lo || hi > MAX_CPU_INDEX || stride < 1) return malformed(`bad CPU range '${part.trim()}'`);
    for (let c = lo; c <= hi; c += stride) cpus.add(c);
  }
  return parsed([...cpus].sort((a, b) => a - b));
}

/**
 * Counts the CPUs in a CPU list (see {@link parseCpuList}).
 *
 * @returns the number of CPUs (≥ 1); `ok: false` for malformed text or an empty list, since an
 *   empty set cannot bound the CPUs a running process uses.
 */
export function countCpuList(text: string): Parsed<number> {
  const list = parseCpuList(text);
  if (!list.ok) return list;
  if (list.value.length === 0) return malformed('empty CPU list');
  return parsed(list.value.length);
}

/**
 * Reads the affinity mask from `/proc/self/status` (the `Cpus_allowed_list:` line, which the
 * kernel keeps equal to `sched_getaffinity`, i.e. what `taskset` and `--cpuset-cpus` set).
 *
 * @param statusText the whole of `/proc/self/status`.
 * @returns the number of CPUs this process may run on (≥ 1), or `ok: false` when the line is
 *   missing, empty or malformed.
 */
export function parseCpusAllowedList(statusText: string): Parsed<number> {
  const line = statusText.split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
  if (line === undefined) return malformed('no Cpus_allowed_list line');
  return countCpuList(line.slice('Cpus_allowed_list:'.length));
}
