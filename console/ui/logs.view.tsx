import { Box, Text } from 'ink';
import { truncate, type Tone } from './dashboard.model.js';
import { readableLogLine } from './log-line.format.js';

const COLOR: Record<Tone, string | undefined> = { ok: 'green', warn: 'yellow', bad: 'red', dim: undefined, plain: undefined };

/**
 * The tail of a service's logs: the newest lines that fit in `height` rows (title and key help
 * included), each cut to `width` so nothing wraps; control characters are dropped. The server's
 * JSON lines are shown for people (time, level, message, the fields that matter; see
 * {@link readableLogLine}), warnings and errors in colour.
 */
export function LogsView({
  service,
  lines,
  width,
  height,
  refreshedAt,
}: {
  service: string;
  lines: string[];
  width: number;
  height: number;
  refreshedAt?: string;
}) {
  const room = Math.max(1, height - 2);
  // eslint-disable-next-line no-control-regex
  const clean = lines.map((l) =>
    l
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
      .replace(/\t/g, '  '),
  );
  const shown = clean.slice(-room).map(readableLogLine);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {truncate(`Logs of ${service} — last ${shown.length} of ${lines.length} lines${refreshedAt ? ` · ${refreshedAt}` : ''}`, width)}
      </Text>
      {shown.length === 0 ? <Text dimColor>(no log lines)</Text> : null}
      {shown.map((l, i) => (
        <Text key={i} wrap="truncate-end" color={COLOR[l.tone]} dimColor={l.tone === 'dim'}>
          {truncate(l.text, width) || ' '}
        </Text>
      ))}
      <Text dimColor wrap="truncate-end">
        {truncate('q / Esc / l back to the dashboard · refreshes every few seconds', width)}
      </Text>
    </Box>
  );
}
