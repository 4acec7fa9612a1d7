import { formatBytes } from '../detect/size.js';

/** A derived number and the one-line formula that produced it (shown by `plan` and in docs). */
export interface Derived<T = number> {
  value: T;
  derivation: string;
}

/** Build a Derived value. */
export function derived<T>(value: T, derivation: string): Derived<T> {
  return { value, derivation };
}

/** `clamp(x, lo, hi)`; lo wins when lo > hi. */
export function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}

/** Short byte figure for derivations: `1.5 GiB`, `192 MiB`. */
export const b = (bytes: number): string => formatBytes(bytes);

/** Short CPU figure: `2`, `1.5`. */
export const c = (cpus: number): string => String(Math.round(cpus * 100) / 100);

/** Round bytes down to whole MiB so rendered configs read cleanly and stay deterministic. */
export function floorMiB(bytes: number): number {
  return Math.floor(bytes / 1024 ** 2) * 1024 ** 2;
}
