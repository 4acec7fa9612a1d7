import { render } from 'ink';
import { ConsoleApp, type DashboardStore } from './console.app.js';
import type { ConsoleActions } from './console.actions.js';

/**
 * Mount the dashboard on the process TTY and resolve with the exit code when the operator quits.
 * Callers check for a TTY first (FAILURES.md: "Raw mode is not supported"). Rendering is capped at
 * 10 frames/s and only changed lines are rewritten (incremental rendering), so slow ssh links
 * don't flicker.
 */
export async function runConsoleUi(feed: DashboardStore, actions: ConsoleActions, opts: { logTail?: number; logsRefreshMs?: number } = {}): Promise<number> {
  let code = 0;
  const app = render(<ConsoleApp feed={feed} actions={actions} logTail={opts.logTail} logsRefreshMs={opts.logsRefreshMs} onExit={(c) => (code = c)} />, {
    maxFps: 10,
    incrementalRendering: true,
    exitOnCtrlC: true,
  });
  await app.waitUntilExit();
  return code;
}
