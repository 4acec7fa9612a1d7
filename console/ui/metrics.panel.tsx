import type { DashboardData } from './dashboard.feed.js';
import { metricsPanelLines } from './dashboard.model.js';
import { LinesView } from './line.view.js';

/** Request rate, p95 latency, 5xx rate, DB pool and queues from the backends' /metrics, with sparklines. */
export function MetricsPanel({
  data,
  width,
  maxQueues,
}: {
  data: Pick<DashboardData, 'metrics' | 'metricsError' | 'history' | 'intervalS'>;
  width: number;
  maxQueues?: number;
}) {
  return <LinesView lines={metricsPanelLines(data, width, maxQueues)} />;
}
