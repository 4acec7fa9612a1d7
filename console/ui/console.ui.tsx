import { render } from 'ink';
import { ConsoleApp, type DashboardStore } from './console.app.js';
import type { ConsoleActions } from './console.actions.js';

/**
 * Mount the dashboard on the process TTY and resolve with the exit code when the operator quits.
 * Callers check for a TTY first (FAILURES.md: "Raw mode is not supported"). Rendering is capped at
 * 10 frames/s over one live region that stays below the terminal height, so Ink rewrites it in
 * place and never clears the screen. (Ink 6.8's `incrementalRendering` left stale and duplicated
 * lines in a real 80×24 pty when the region changed height, so it stays off.)
 */
export async function runConsoleUi(feed: DashboardStore, actions: ConsoleActions, opts: { logTail?: number; logsRefreshMs?: number } = {}): Promise<number> {
  let code = 0;
  const app = render(<ConsoleApp feed={feed} actions={actions} logTail={opts.logTail} logsRefreshMs={opts.logsRefreshMs} onExit={(c) => (code = c)} />, {
    maxFps: 10,
    exitOnCtrlC: true,
  });
  await app.waitUntilExit();
  return code;
}
