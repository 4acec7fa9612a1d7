import { useSyncExternalStore } from 'react';
import { Box, Text } from 'ink';
import { Spinner } from '@inkjs/ui';
import type { StepStore } from '../../installer/ui/step.store.js';
import { truncate } from './dashboard.model.js';

/**
 * Live progress of a running key action: its steps (✓ done, ✗ failed, - skipped, spinner for the
 * running one with its latest progress line), the newest `maxLines` lines only, all in the live
 * region (the dashboard stays above it, so nothing goes to <Static> here).
 */
export function ActionProgress({ store, title, width, maxLines = 8 }: { store: StepStore; title: string; width: number; maxLines?: number }) {
  const steps = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const running = steps.find((s) => s.status === 'running');
  const finished = steps.filter((s) => s.status !== 'running');
  const room = Math.max(1, maxLines - 1 - (running ? (running.progress ? 2 : 1) : 0));
  const shown = finished.slice(-room);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {truncate(title, width)}
      </Text>
      {shown.map((s) => {
        const secs = s.durationMs !== null && s.status !== 'skipped' ? ` (${(s.durationMs / 1000).toFixed(1)} s)` : '';
        if (s.status === 'failed')
          return (
            <Text key={s.id} color="red" wrap="truncate-end">
              {truncate(`✗ ${s.title}: ${s.error?.split('\n')[0] ?? ''}`, width)}
            </Text>
          );
        if (s.status === 'skipped')
          return (
            <Text key={s.id} dimColor wrap="truncate-end">
              {truncate(`- ${s.title}: skipped (${s.summary ?? ''})`, width)}
            </Text>
          );
        return (
          <Text key={s.id} wrap="truncate-end">
            <Text color="green">✓</Text>
            {truncate(` ${s.title}${s.summary ? ` — ${s.summary}` : ''}${secs}`, width - 1)}
          </Text>
        );
      })}
      {running ? <Spinner label={truncate(running.title, width - 2)} /> : null}
      {running?.progress ? (
        <Text dimColor wrap="truncate-end">
          {truncate(`  ${running.progress}`, width)}
        </Text>
      ) : null}
      {steps.length === 0 ? <Spinner label="starting…" /> : null}
    </Box>
  );
}
