/**
 * A terminal chart of p95 latency against concurrent users, for `carebox loadtest`: one column per
 * level tried (in the order of their user counts), the p95 limit as a dashed line, `●` for a
 * sustained level and `✗` for one that was not. Plain text, so it prints the same on a terminal,
 * in a pipe and in a log. Pure.
 */

/** One point of the chart. */
export interface ChartPoint {
  users: number;
  p95Ms: number;
  sustained: boolean;
}

/** Options of {@link renderP95Chart}. */
export interface ChartOptions {
  /** The p95 limit drawn across, ms. */
  limitMs: number;
  /** Rows of the plot area (≥ 3). Default 10. */
  height?: number;
  /** Characters per column (≥ 4). Default 7. */
  columnWidth?: number;
  /** What the x axis counts. Default `concurrent users`. */
  xLabel?: string;
}

const fmt = (ms: number): string => (ms >= 10_000 ? `${Math.round(ms / 1000)}s` : ms >= 100 ? String(Math.round(ms)) : ms.toFixed(ms >= 10 ? 0 : 1));

/**
 * The chart as lines (no trailing newline), or a one-line note when there is nothing to draw.
 * The y axis runs from 0 to the larger of 1.25 × the limit and the largest p95 (a value above
 * the top row is clipped to it and marked with `↑`).
 */
export function renderP95Chart(points: readonly ChartPoint[], options: ChartOptions): string[] {
  if (points.length === 0) return ['(no level measured)'];
  const height = Math.max(3, options.height ?? 10);
  const col = Math.max(4, options.columnWidth ?? 7);
  const sorted = [...points].sort((a, b) => a.users - b.users);
  const top = Math.max(options.limitMs * 1.25, ...sorted.map((p) => p.p95Ms));
  const rowOf = (ms: number): number => Math.min(height - 1, Math.max(0, Math.round((ms / top) * (height - 1))));
  const limitRow = rowOf(options.limitMs);
  const labelWidth = Math.max(...[top, options.limitMs, 0].map((v) => fmt(v).length)) + 1;
  const half = Math.floor((col - 1) / 2);
  const lines: string[] = [`p95 ms (limit ${options.limitMs} ms: ╌╌╌)`];
  for (let r = height - 1; r >= 0; r -= 1) {
    const label = r === height - 1 ? fmt(top) : r === limitRow ? fmt(options.limitMs) : r === 0 ? '0' : '';
    let row = `${label.padStart(labelWidth)} ┤`;
    for (const p of sorted) {
      const pr = rowOf(p.p95Ms);
      const mark = pr === r ? (p.p95Ms > top ? '↑' : p.sustained ? '●' : '✗') : r === limitRow ? '╌' : ' ';
      const fill = r === limitRow ? '╌' : ' ';
      row += fill.repeat(half) + mark + fill.repeat(col - 1 - half);
    }
    lines.push(row.trimEnd());
  }
  lines.push(`${' '.repeat(labelWidth)} └${'─'.repeat(col * sorted.length)}`);
  const cell = (s: string): string => `${' '.repeat(Math.max(0, half - Math.floor((s.length - 1) / 2)))}${s}`.padEnd(col);
  lines.push(
    `${' '.repeat(labelWidth + 2)}${sorted
      .map((p) => cell(String(p.users)))
      .join('')
      .trimEnd()}`,
  );
  lines.push(`${' '.repeat(labelWidth + 2)}${options.xLabel ?? 'concurrent users'} (● p95 within the limit, ✗ not)`);
  return lines;
}
