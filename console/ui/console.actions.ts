/**
 * What the dashboard's keys do, as an interface the command wires to the console ops
 * (console/ops/*.ops.ts, the same functions the CLI verbs call). The dashboard never talks to
 * Docker or Compose itself. An absent method means the operation is not available in this build:
 * its key says so instead of acting.
 */
import type { StepReporter } from '../../installer/apply/steps.js';
import type { Tier } from '../../installer/plan/plan.types.js';

/** Operations behind the dashboard's keys. Each reports its progress as steps and resolves with a one-line summary. */
export interface ConsoleActions {
  /** Services `scale` accepts (replicated services; the plan's budgets are re-checked by the op). */
  readonly scalableServices: readonly string[];
  /** Highest replica count the scale prompt offers. */
  readonly maxReplicas: number;
  /**
   * Lines describing a scale before it runs (budgets after the change), for the confirmation.
   * Rejects (CareboxError with a hint) when the plan's budgets would not fit: nothing is asked then.
   */
  previewScale?(service: string, replicas: number): Promise<string[]>;
  /**
   * Scale `service` to `replicas` containers. Rejects (with a CareboxError carrying a hint) when
   * the budgets do not fit or the stack does not become healthy.
   */
  scale?(service: string, replicas: number, progress: StepReporter): Promise<string>;
  /** Restart `service` (rolling when it has more than one replica). */
  restart?(service: string, progress: StepReporter): Promise<string>;
  /**
   * What re-tiering to `tier` would change (services, sizing, files) as lines for the confirmation;
   * `noop` when the stack already runs that plan. Rejects (CareboxError with a hint) when this host
   * cannot run the tier: nothing is asked then.
   */
  previewRetier?(tier: Tier): Promise<{ lines: string[]; noop: boolean }>;
  /** Re-tier the stack to `tier` as a rolling change. */
  retier?(tier: Tier, progress: StepReporter): Promise<string>;
  /** The last `tail` log lines of `service` (every container, demultiplexed), oldest first. */
  logs?(service: string, tail: number): Promise<string[]>;
}
