/**
 * The load test on a terminal: finished phases and levels above (Ink's <Static>), and one live
 * region below with the running level's progress bar and the chart of p95 against users so far.
 * Drawn on stderr: stdout keeps the result (the CLI contract).
 */
import { ProgressBar } from '@inkjs/ui';
import { Box, render, Static, Text } from 'ink';
import { useSyncExternalStore } from 'react';
import { P95_LIMIT_MS } from '../ops/loadtest.ramp.js';
import { levelLine, LoadtestStore, type LoadtestState } from './loadtest.store.js';
import { renderP95Chart } from './p95.chart.js';

type Line = { key: string; text: string; color?: 'green' | 'red' | undefined };

function staticLines(s: LoadtestState): Line[] {
  return [
    ...s.phases.map((p, i) => ({ key: `p${i}`, text: `• ${p}` })),
    ...s.levels.map((l, i) => ({
      key: `l${i}`,
      text: `${l.sustained ? '✓' : '✗'} ${levelLine(l)}`,
      color: l.sustained ? ('green' as const) : ('red' as const),
    })),
  ];
}

/** The view of a LoadtestStore. */
export function LoadtestView({ store }: { store: LoadtestStore }): React.JSX.Element {
  const s = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const c = s.current;
  const pct = c ? Math.min(100, Math.round((c.elapsedS / c.durationS) * 100)) : 0;
  const rates = s.levels.filter((l) => l.kind === 'rate');
  const chart =
    rates.length > 0
      ? renderP95Chart(
          rates.map((l) => ({ users: l.load, p95Ms: l.p95Ms, sustained: l.sustained })),
          { limitMs: P95_LIMIT_MS, height: 8, xLabel: 'actions/s' },
        )
      : [];
  return (
    <Box flexDirection="column">
      <Static items={staticLines(s)}>
        {(l) => (
          <Text key={l.key} color={l.color}>
            {l.text}
          </Text>
        )}
      </Static>
      {c && (
        <Box flexDirection="column">
          <Text>
            Step {c.index + 1} of {c.planned}: {c.label}, {Math.floor(c.elapsedS)}/{c.durationS} s, {c.responses} responses
          </Text>
          <Box width={60}>
            <ProgressBar value={pct} />
          </Box>
        </Box>
      )}
      {chart.length > 0 && <Text dimColor>{chart.join('\n')}</Text>}
    </Box>
  );
}

/** Mounts the view on stderr. @returns the store to report into and a stop function. */
export function startLoadtestUi(): { store: LoadtestStore; stop: () => void } {
  const store = new LoadtestStore();
  const app = render(<LoadtestView store={store} />, { stdout: process.stderr, patchConsole: false });
  return {
    store,
    stop: () => {
      // The live region (progress bar, chart) goes away; the finished lines stay, and the report
      // on stdout repeats the chart.
      app.clear();
      app.unmount();
    },
  };
}
