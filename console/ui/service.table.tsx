import { Box } from 'ink';
import type { DashboardHistory } from './dashboard.feed.js';
import { serviceTableLines, type ServiceRow } from './dashboard.model.js';
import { LineView } from './line.view.js';

/** Props of {@link ServiceTable}. */
export interface ServiceTableProps {
  rows: ServiceRow[];
  /** Index of the selected row (marked ▶, bold). */
  selected: number;
  /** Columns available. */
  width: number;
  cpuHistory?: DashboardHistory['cpuByService'];
}

/** The per-service table: ready/expected replicas, state, health, CPU, memory, uptime, CPU trend. */
export function ServiceTable({ rows, selected, width, cpuHistory }: ServiceTableProps) {
  const lines = serviceTableLines(rows, selected, width, cpuHistory);
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <LineView key={i} line={l} bold={i - 1 === selected} />
      ))}
    </Box>
  );
}
