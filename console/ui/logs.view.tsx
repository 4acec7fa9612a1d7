import { Box, Text } from 'ink';
import { truncate } from './dashboard.model.js';

/**
 * The tail of a service's logs: the newest lines that fit in `height` rows (title and key help
 * included), each cut to `width` so nothing wraps; control characters are dropped.
 */
export function LogsView({ service, lines, width, height, refreshedAt }: { service: string; lines: string[]; width: number; height: number; refreshedAt?: string }) {
  const room = Math.max(1, height - 2);
  // eslint-disable-next-line no-control-regex
  const clean = lines.map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').replace(/\t/g, '  '));
  const shown = clean.slice(-room);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {truncate(`Logs of ${service} — last ${shown.length} of ${lines.length} lines${refreshedAt ? ` · ${refreshedAt}` : ''}`, width)}
      </Text>
      {shown.length === 0 ? <Text dimColor>(no log lines)</Text> : null}
      {shown.map((l, i) => (
        <Text key={i} wrap="truncate-end">
          {truncate(l, width) || ' '}
        </Text>
      ))}
      <Text dimColor wrap="truncate-end">
        {truncate('q / Esc / l back to the dashboard · refreshes every few seconds', width)}
      </Text>
    </Box>
  );
}
