import { Box, Text } from 'ink';
import type { Line, Tone } from './dashboard.model.js';

const COLOR: Record<Tone, string | undefined> = { ok: 'green', warn: 'yellow', bad: 'red', dim: undefined, plain: undefined };

/** One view-model line: its segments coloured by tone, never wrapped (cut at the terminal edge). */
export function LineView({ line, bold = false }: { line: Line; bold?: boolean }) {
  return (
    <Text wrap="truncate-end" bold={bold}>
      {line.length === 0 ? ' ' : null}
      {line.map((s, i) => (
        <Text key={i} color={COLOR[s.tone]} dimColor={s.tone === 'dim'}>
          {s.text}
        </Text>
      ))}
    </Text>
  );
}

/** Several view-model lines, one per row. */
export function LinesView({ lines }: { lines: Line[] }) {
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <LineView key={i} line={l} />
      ))}
    </Box>
  );
}
