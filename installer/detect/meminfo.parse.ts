/**
 * Pure parser for `/proc/meminfo`. What `os.totalmem()` and `systeminformation.mem()` report too,
 * and, like them, blind to container limits: the cgroup limit is applied elsewhere.
 */
import { malformed, parsed, quote, type Parsed } from './parse-result.js';

/** The figures Carebox reads from `/proc/meminfo`, in bytes. */
export interface Meminfo {
  /** `MemTotal`: usable RAM of the kernel (VM or machine), bytes. */
  memTotalBytes: number;
  /** `SwapTotal`: configured swap, bytes; null when the line is absent (kernels without swap support). */
  swapTotalBytes: number | null;
}

const UNIT_BYTES: Readonly<Record<string, number>> = { '': 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** One `Key:   1234 kB` value in bytes, or undefined when absent/malformed. */
function field(text: string, key: string): number | undefined {
  const re = new RegExp(`^${key}:\\s*(\\d+)\\s*([kKmMgG][bB])?\\s*$`, 'm');
  const m = re.exec(text);
  if (!m) return undefined;
  const mul = UNIT_BYTES[(m[2] ?? '').toLowerCase()];
  if (mul === undefined) return undefined;
  const bytes = Number(m[1]) * mul;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * Parses `/proc/meminfo` (lines `Key: value kB`; the kernel's "kB" means KiB).
 *
 * @returns MemTotal and SwapTotal in bytes; `ok: false` when MemTotal is missing, zero or
 *   malformed (without it the file tells nothing about memory).
 */
export function parseMeminfo(text: string): Parsed<Meminfo> {
  const memTotalBytes = field(text, 'MemTotal');
  if (memTotalBytes === undefined || memTotalBytes <= 0) {
    return malformed(`no usable MemTotal line in ${quote(text)}`);
  }
  return parsed({ memTotalBytes, swapTotalBytes: field(text, 'SwapTotal') ?? null });
}
