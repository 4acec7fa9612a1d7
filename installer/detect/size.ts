/**
 * Byte sizes for people: `--memory 8g` in, `1.5 GiB` out.
 *
 * Units follow `docker run --memory`: every unit is binary (k = KiB = 1024 bytes, g = GiB), case
 * does not matter, and an optional `i` and/or `b` may follow the unit (`8g`, `8G`, `8gb`, `8GiB`).
 * A bare number is bytes. This matches what an operator who sized a container with Docker expects.
 */
import { UsageError } from '../errors.js';

const UNIT_EXPONENT: Readonly<Record<string, number>> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

const SIZE_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kmgtp]?)(i?)(b?)\s*$/i;

/**
 * Parses a human size into bytes.
 *
 * Accepts `1024` (bytes), `512k`, `512MiB`, `8g`, `8GB`, `1.5GiB`, `2t`; units are binary (see the
 * module comment), fractions are allowed and the result is rounded down to whole bytes.
 *
 * @param text the size as typed, e.g. the value of `--memory`.
 * @returns bytes, an integer ≥ 0 and ≤ Number.MAX_SAFE_INTEGER.
 * @throws UsageError when the text is empty, negative, has an unknown unit or is too large.
 */
export function parseSize(text: string): number {
  const m = SIZE_RE.exec(text);
  const unitHint = 'use a number with an optional binary unit, e.g. 8g, 512MiB, 1.5GiB or 1073741824 (bytes)';
  // A lone `i` or `ib` without a unit letter ("5i") is not a size.
  if (!m || (m[2] === '' && m[3] !== '')) throw new UsageError(`invalid size '${text}'`, unitHint);
  const [, num, unit] = m as unknown as [string, string, string];
  const exponent = UNIT_EXPONENT[unit.toLowerCase()];
  if (exponent === undefined) throw new UsageError(`invalid size unit in '${text}'`, unitHint);
  const bytes = Math.floor(Number(num) * 1024 ** exponent);
  if (!Number.isFinite(bytes) || bytes > Number.MAX_SAFE_INTEGER) {
    throw new UsageError(`size '${text}' is too large`, unitHint);
  }
  return bytes;
}

/**
 * Parses a size flag that must carry a unit (`--memory 8GiB`). A bare number is refused rather
 * than read as bytes: `--memory 8` almost always means 8 GiB, and as 8 bytes it turns into a
 * misleading "host below the minimum" refusal.
 *
 * @param flag the flag's name for the message, e.g. `--memory`.
 * @param text the value as typed.
 * @returns bytes (see {@link parseSize}).
 * @throws UsageError naming the flag, the value and what is accepted; for a bare number, the hint
 *   suggests the same figure in GiB (`8` → `8GiB`).
 */
export function parseSizeFlag(flag: string, text: string): number {
  const accepted = 'a number with a binary unit: k/KiB, m/MiB, g/GiB, t/TiB (e.g. 8GiB, 512MiB, 1.5g)';
  if (/^\s*(\d+(?:\.\d+)?|\.\d+)\s*$/.test(text)) {
    throw new UsageError(`${flag} needs a unit, got '${text}'`, `did you mean ${text.trim()}GiB? accepted: ${accepted}`);
  }
  try {
    return parseSize(text);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${flag}: invalid size '${text}'`, `accepted: ${accepted}`);
    throw err;
  }
}

const FORMAT_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/**
 * Formats bytes with the largest binary unit that keeps the figure ≥ 1, at most two decimals,
 * trailing zeros dropped: `1610612736` → `1.5 GiB`, `1024` → `1 KiB`, `512` → `512 B`.
 * Deterministic (no locale), so it is safe in rendered files and docs.
 *
 * @param bytes a non-negative byte count; negative or non-finite input is shown as is with `B`.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${bytes} B`;
  let unit = 0;
  let value = bytes;
  while (value >= 1024 && unit < FORMAT_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // Rounding may carry into the next unit (1023.999 KiB → 1024 KiB); fold it over.
  let shown = Number(value.toFixed(2));
  if (shown >= 1024 && unit < FORMAT_UNITS.length - 1) {
    shown = Number((shown / 1024).toFixed(2));
    unit += 1;
  }
  return `${shown} ${FORMAT_UNITS[unit]}`;
}
