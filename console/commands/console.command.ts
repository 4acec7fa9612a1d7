import type { Command } from 'commander';
import { Option } from 'commander';
import type Docker from 'dockerode';
import { connectDocker } from '../../installer/apply/docker.connect.js';
import { requireManifest } from '../../installer/manifest/manifest.js';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, numberFlag, withCommon } from '../../installer/commands/common.options.js';
import { UsageError } from '../../installer/errors.js';
import type { ConsoleActions } from '../ui/console.actions.js';
import { DashboardFeed, dockerDashboardSource } from '../ui/dashboard.feed.js';

/** Refresh interval of the dashboard when --interval is absent, seconds. */
export const DEFAULT_INTERVAL_S = 2;

/**
 * Refuse to mount the dashboard without a terminal: Ink needs raw mode on stdin and a TTY on
 * stdout ("Raw mode is not supported" otherwise), and `--json` asks for a document, not a UI.
 * @throws UsageError (exit 2) pointing at `carebox status --json`.
 */
export function assertInteractive(io: { stdinTTY: boolean | undefined; stdoutTTY: boolean | undefined; json: boolean }): void {
  if (io.json) throw new UsageError('carebox console is an interactive dashboard and has no --json output', 'use `carebox status --json` for one JSON document');
  if (!io.stdinTTY || !io.stdoutTTY) {
    throw new UsageError('carebox console needs an interactive terminal (stdin and stdout must be a TTY)', 'use `carebox status --json` in scripts, pipes and CI');
  }
}

/**
 * The dashboard's key actions wired to the console ops (console/ops/*.ops.ts), the same functions
 * the CLI verbs call. A key whose op does not exist yet stays unwired (the dashboard shows it as n/a).
 */
export function consoleActions(_deps: { docker: Docker; dir: string }): ConsoleActions {
  return {
    scalableServices: ['backend', 'worker'],
    maxReplicas: 32,
  };
}

/**
 * `carebox console [--interval S]`: the Ink dashboard (services, backend metrics with sparklines,
 * keys to scale, restart, tail logs and re-tier). TTY only: without one it exits 2 and points at
 * `carebox status --json`.
 */
export function registerConsole(program: Command, run: ActionRunner): void {
  withCommon(program.command('console').description('live dashboard: services, health, resource use, request metrics; keys to scale, restart, tail logs, re-tier'))
    .addOption(new Option('--interval <S>', `seconds between refreshes, 1–60 (default ${DEFAULT_INTERVAL_S})`))
    .action(
      run(async (_out, raw) => {
        const { dir, json } = commonOptions(raw as { dir?: string; json?: boolean });
        const intervalS = numberFlag('--interval', raw.interval as string | undefined, 1, 60) ?? DEFAULT_INTERVAL_S;
        assertInteractive({ stdinTTY: process.stdin.isTTY, stdoutTTY: process.stdout.isTTY, json });
        await requireManifest(dir); // a missing install is reported before anything mounts
        const { docker } = await connectDocker();
        const feed = new DashboardFeed(dockerDashboardSource(docker, () => requireManifest(dir)), { intervalMs: intervalS * 1000 });
        const { runConsoleUi } = await import('../ui/console.ui.js');
        feed.start();
        try {
          return await runConsoleUi(feed, consoleActions({ docker, dir }), { logsRefreshMs: Math.max(2000, intervalS * 1000) });
        } finally {
          feed.stop();
        }
      }),
    );
}
