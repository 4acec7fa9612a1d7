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

/**
 * The log limits for every container, with the worst-case disk they take:
 * `containers` × max-size × max-file bytes (the plan's containers, scale-out and the surge of a
 * rolling restart included by the caller).
 */
export function logLimits(containers: number): { maxSizeBytes: Derived; maxFiles: Derived; diskBytes: Derived } {
  const disk = containers * LOG_FILE_BYTES * LOG_FILES;
  return {
    maxSizeBytes: derived(LOG_FILE_BYTES, `json-file max-size ${LOG_FILE_BYTES / 1024 ** 2} MiB per file (Docker's example size)`),
    maxFiles: derived(LOG_FILES, `json-file max-file ${LOG_FILES} per container (about a day of a busy backend's lines)`),
    diskBytes: derived(disk, `logs take at most ${Math.round(disk / 1024 ** 2)} MiB = ${containers} containers × ${LOG_FILES} files × ${LOG_FILE_BYTES / 1024 ** 2} MiB`),
  };
}

/** Compose `logging:` for a service from the limits. Pure. */
export function composeLogging(l: LogLimits): { driver: string; options: Record<string, string> } {
  return { driver: l.driver, options: { 'max-size': `${Math.floor(l.maxSizeBytes / 1024)}k`, 'max-file': String(l.maxFiles) } };
}
