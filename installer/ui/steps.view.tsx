import type { ReactNode } from 'react';
import { Box, Static, Text } from 'ink';
import { Spinner } from '@inkjs/ui';
import type { StepView } from './step.store.js';

function Finished({ step }: { step: StepView }) {
  const secs = step.durationMs !== null ? ` (${(step.durationMs / 1000).toFixed(1)} s)` : '';
  if (step.status === 'failed')
    return (
      <Text color="red">
        ✗ {step.title}: {step.error?.split('\n')[0]}
      </Text>
    );
  if (step.status === 'skipped')
    return (
      <Text dimColor>
        - {step.title}: skipped ({step.summary})
      </Text>
    );
  return (
    <Text wrap="truncate-end">
      <Text color="green">✓</Text> {step.title}
      <Text dimColor>
        {step.summary ? ` — ${step.summary}` : ''}
        {secs}
      </Text>
    </Text>
  );
}

/**
 * Finished steps in <Static> (printed once, never redrawn) above one live region for the running
 * step. `header`, when given, is printed once before the first step (the host and tier panels), so
 * a small terminal over ssh redraws only the live line.
 */
export function StepsView({ steps, header }: { steps: StepView[]; header?: ReactNode }) {
  const finished = steps.filter((s) => s.status !== 'running');
  const running = steps.find((s) => s.status === 'running');
  type Item = { key: string; step: StepView | null };
  const items: Item[] = [...(header ? [{ key: '__header', step: null }] : []), ...finished.map((s) => ({ key: s.id, step: s }))];
  return (
    <>
      <Static items={items}>
        {(i) =>
          i.step ? (
            <Finished key={i.key} step={i.step} />
          ) : (
            <Box key={i.key} flexDirection="column">
              {header}
            </Box>
          )
        }
      </Static>
      {running ? (
        <Box flexDirection="column">
          <Spinner label={running.title} />
          {running.progress ? <Text dimColor wrap="truncate-end">{`  ${running.progress}`}</Text> : null}
        </Box>
      ) : null}
    </>
  );
}
