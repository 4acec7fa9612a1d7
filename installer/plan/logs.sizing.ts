/**
 * Container log limits (Docker's json-file driver with `max-size` and `max-file`): no service can
 * fill the disk with its logs. Without them Docker keeps every line a container ever wrote, and a
 * full disk stops PostgreSQL in a PANIC loop (FAILURES.md). Pure.
 */
import { derived, type Derived } from './derived.js';

/** Size of one log file before Docker rotates it, bytes: 10 MiB (Docker's docs use `max-size=10m` as their example). */
export const LOG_FILE_BYTES = 10 * 1024 ** 2;
/**
 * Rotated files kept per container: 5, so `carebox logs` and the support bundle still reach back
 * about a day of a busy backend's error and slow-request lines. Our choice.
 */
export const LOG_FILES = 5;

/** The log limits every container of the stack gets. */
export interface LogLimits {
  driver: 'json-file';
  /** One file's size before rotation, bytes. */
  maxSizeBytes: number;
  /** Files kept per container (the current one included). */
  maxFiles: number;
}

/** Share of the Docker data root's disk one container's logs may take: 0.05 % (1/2000). Our choice: 100 GiB gives Docker's example, 10 MiB × 5. */
export const LOG_DISK_SHARE_PER_CONTAINER = 1 / 2000;
/** Bounds of one container's logs, bytes: at least 5 MiB (1 MiB × 5: a few hours of a busy backend), at most 250 MiB (50 MiB × 5). */
export const LOG_CONTAINER_MIN_BYTES = 5 * 1024 ** 2;
export const LOG_CONTAINER_MAX_BYTES = 250 * 1024 ** 2;

/**
 * The log limits for every container, with the worst-case disk they take:
 *  - per container: clamp(0.05 % of the Docker data root's total size, 5 MiB, 250 MiB), in
 *    LOG_FILES files of whole MiB; without a measured disk, Docker's example 10 MiB × 5;
 *  - in all: `containers` × max-size × max-file bytes (the plan's containers, scale-out and the
 *    surge of a rolling restart included by the caller).
 * The per-container figure depends on the disk only, never on the tier: a re-tier that changed a
 * container's logging options would recreate it (PostgreSQL included). Pure.
 * @param dockerRootTotalBytes total size of the filesystem under Docker's data root, bytes; null when unknown.
 */
export function logLimits(containers: number, dockerRootTotalBytes: number | null = null): { maxSizeBytes: Derived; maxFiles: Derived; diskBytes: Derived } {
  const MiB = 1024 ** 2;
  let fileBytes = LOG_FILE_BYTES;
  let sizeWhy = `json-file max-size ${LOG_FILE_BYTES / MiB} MiB per file (Docker's example size; the disk under Docker's data root was not measured)`;
  if (dockerRootTotalBytes !== null && dockerRootTotalBytes > 0) {
    const perContainer = Math.min(LOG_CONTAINER_MAX_BYTES, Math.max(LOG_CONTAINER_MIN_BYTES, dockerRootTotalBytes * LOG_DISK_SHARE_PER_CONTAINER));
    fileBytes = Math.max(1, Math.floor(perContainer / LOG_FILES / MiB)) * MiB;
    sizeWhy = `json-file max-size ${fileBytes / MiB} MiB = floor(clamp(0.05 % of the ${Math.round(dockerRootTotalBytes / 1024 ** 3)} GiB disk under Docker's data root, 5 MiB, 250 MiB) / ${LOG_FILES} files) per file`;
  }
  const disk = containers * fileBytes * LOG_FILES;
  return {
    maxSizeBytes: derived(fileBytes, sizeWhy),
    maxFiles: derived(LOG_FILES, `json-file max-file ${LOG_FILES} per container (about a day of a busy backend's lines)`),
    diskBytes: derived(disk, `logs take at most ${Math.round(disk / MiB)} MiB = ${containers} containers × ${LOG_FILES} files × ${fileBytes / MiB} MiB`),
  };
}

/** Compose `logging:` for a service from the limits. Pure. */
export function composeLogging(l: LogLimits): { driver: string; options: Record<string, string> } {
  return { driver: l.driver, options: { 'max-size': `${Math.floor(l.maxSizeBytes / 1024)}k`, 'max-file': String(l.maxFiles) } };
}
