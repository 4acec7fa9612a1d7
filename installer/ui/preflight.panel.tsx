import { Box, Text } from 'ink';
import type { CheckResult } from '../preflight/preflight.checks.js';

const MARK = { pass: { c: '✓', color: 'green' }, warn: { c: '!', color: 'yellow' }, fail: { c: '✗', color: 'red' } } as const;

/** Preflight results; warnings and failures show their fix. */
export function PreflightPanel({ results }: { results: CheckResult[] }) {
  return (
    <Box flexDirection="column">
      <Text bold>Preflight</Text>
      {results.map((r) => (
        <Box key={r.id} flexDirection="column">
          <Text wrap="truncate-end">
            <Text color={MARK[r.status].color}>{MARK[r.status].c}</Text> {r.title}: <Text dimColor>{r.found}</Text>
          </Text>
          {r.status !== 'pass' && r.fix ? <Text color={MARK[r.status].color}>{`    fix: ${r.fix}`}</Text> : null}
        </Box>
      ))}
    </Box>
  );
}
