/**
 * A ConsoleActions that records every call and reports real steps through the StepReporter
 * (runSteps, as the ops do), instead of touching Docker. This is fine here: it stands in for the
 * Docker operations themselves, which the ops' own e2e tests cover on the real engine; what these
 * tests check is the dashboard's side (confirmation, progress, return to the dashboard).
 */
import { runSteps, type StepReporter } from '../../../../installer/apply/steps.js';
import { OperationError, PreflightError } from '../../../../installer/errors.js';
import type { Tier } from '../../../../installer/plan/plan.types.js';
import type { ConsoleActions } from '../../../../console/ui/console.actions.js';

export type Call =
  | ['previewScale', string, number]
  | ['scale', string, number]
  | ['restart', string]
  | ['retier', Tier]
  | ['previewRetier', Tier]
  | ['logs', string, number];

export interface RecordingActions extends ConsoleActions {
  calls: Call[];
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Options: make an op fail, slow it down, or leave ops out (an unwired key). */
export function recordingActions(opts: { failScale?: 'budget' | 'op'; stepMs?: number; without?: (keyof ConsoleActions)[] } = {}): RecordingActions {
  const calls: Call[] = [];
  const stepMs = opts.stepMs ?? 5;
  const a: RecordingActions = {
    calls,
    scalableServices: ['backend', 'worker'],
    maxReplicas: 8,
    async previewScale(service: string, replicas: number) {
      calls.push(['previewScale', service, replicas]);
      if (opts.failScale === 'budget') {
        throw new PreflightError(
          `scaling ${service} 1 → ${replicas} does not fit the plan's budgets on this host:\n  ✗ DB connections: 130 > 100\n  ✗ memory: 5 GiB > 4 GiB`,
          'choose fewer replicas, or move to a bigger host and `carebox retier`',
        );
      }
      return [`${service}: 1 → ${replicas} replicas`, 'DB connections after: 42 of 100'];
    },
    async scale(service: string, replicas: number, progress: StepReporter) {
      calls.push(['scale', service, replicas]);
      await runSteps(
        [
          {
            id: 'check',
            title: 'Check the budgets',
            run: async () => {
              await tick(stepMs);
              return 'fits';
            },
          },
          {
            id: 'up',
            title: `Start ${service} replicas`,
            run: async (_c, p) => {
              p(`${service}-2 starting`);
              await tick(stepMs);
              if (opts.failScale === 'op') throw new OperationError('backend-2 did not become healthy');
              return `${replicas} running`;
            },
          },
          {
            id: 'nginx',
            title: 'Reload nginx',
            run: async () => {
              await tick(stepMs);
              return 'reloaded';
            },
          },
        ],
        null,
        progress,
      );
      return `scaled ${service} to ${replicas}`;
    },
    async restart(service: string, progress: StepReporter) {
      calls.push(['restart', service]);
      await runSteps(
        [
          {
            id: 'restart',
            title: `Restart ${service}-1`,
            run: async () => {
              await tick(stepMs);
              return 'healthy';
            },
          },
        ],
        null,
        progress,
      );
      return `restarted ${service}`;
    },
    async previewRetier(tier: Tier) {
      calls.push(['previewRetier', tier]);
      if (tier === 'optimized') return { lines: [], noop: true };
      if (tier === 'cluster')
        throw new PreflightError(
          'preflight failed for tier cluster:\n  ✗ Docker Swarm: found inactive; needs an active swarm',
          'fix the failed checks and rerun',
        );
      return { lines: [`backend replicas 1 → 2`, `compose.yml: 12 lines changed`, `nginx/nginx.conf: 3 lines changed`], noop: false };
    },
    async retier(tier: Tier, progress: StepReporter) {
      calls.push(['retier', tier]);
      await runSteps(
        [
          {
            id: 'apply',
            title: `Apply tier ${tier}`,
            run: async () => {
              await tick(stepMs);
              return 'rolled';
            },
          },
        ],
        null,
        progress,
      );
      return `re-tiered to ${tier}`;
    },
    async logs(service: string, tail: number) {
      calls.push(['logs', service, tail]);
      return Array.from({ length: 40 }, (_, i) => `${service} log line ${i + 1} ${'x'.repeat(i === 3 ? 200 : 0)}`);
    },
  };
  for (const k of opts.without ?? []) delete (a as unknown as Record<string, unknown>)[k];
  return a;
}
