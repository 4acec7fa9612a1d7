/**
 * Sparklines from numbers: ▁▂▃▄▅▆▇█, one character per column. Pure.
 */

/** The eight block levels, lowest first. */
export const SPARK_LEVELS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/** Options of {@link sparkline}. */
export interface SparklineOptions {
  /** Value drawn as ▁ (default 0, or the smallest value when that is negative). */
  min?: number;
  /** Value drawn as █ (default the largest value; when every value equals `min`, all draw ▁). */
  max?: number;
}

/**
 * Squeeze `values` into `width` columns, oldest left. Longer series are split into `width` equal
 * groups and each group shows its largest value (so a short spike never vanishes); gaps (null)
 * stay gaps unless the group has a value. Pure.
 */
export function resample(values: (number | null)[], width: number): (number | null)[] {
  if (values.length <= width) return values;
  const out: (number | null)[] = [];
  for (let col = 0; col < width; col += 1) {
    const from = Math.floor((col * values.length) / width);
    const to = Math.floor(((col + 1) * values.length) / width);
    let best: number | null = null;
    for (let i = from; i < to; i += 1) {
      const v = values[i];
      if (v !== null && v !== undefined && Number.isFinite(v) && (best === null || v > best)) best = v;
    }
    out.push(best);
  }
  return out;
}

/**
 * Render a sparkline exactly `width` characters wide: the series (resampled when longer than
 * `width`) right-aligned, padded with spaces on the left while the history is short; a null or
 * non-finite sample is a space. Pure.
 */
export function sparkline(values: (number | null)[], width: number, opts: SparklineOptions = {}): string {
  if (width <= 0) return '';
  const cols = resample(values, width);
  const finite = cols.filter((v): v is number => v !== null && Number.isFinite(v));
  const lo = opts.min ?? Math.min(0, ...finite);
  const hi = opts.max ?? (finite.length ? Math.max(...finite) : lo);
  const span = hi - lo;
  const chars = cols.map((v) => {
    if (v === null || !Number.isFinite(v)) return ' ';
    if (span <= 0) return SPARK_LEVELS[0];
    const level = Math.round(((Math.min(hi, Math.max(lo, v)) - lo) / span) * (SPARK_LEVELS.length - 1));
    return SPARK_LEVELS[level]!;
  });
  return chars.join('').padStart(width, ' ');
}
