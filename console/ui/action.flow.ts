/**
 * What each dashboard key does, as plain async logic: ask (through a {@link Prompter}), confirm,
 * run the op with a {@link StepReporter} for progress, and say how it ended. No Ink here; the app
 * renders the prompter's question and the reporter's steps.
 */
import type { StepReporter } from '../../installer/apply/steps.js';
import { CareboxError } from '../../installer/errors.js';
import { TIERS, type Tier } from '../../installer/plan/plan.types.js';
import type { ServiceStatus } from '../ops/status.ops.js';
import type { ConsoleActions } from './console.actions.js';
import type { Prompter } from './prompt.store.js';

/** The dashboard's key actions. */
export type ActionKind = 'scale' | 'restart' | 'logs' | 'retier';

/** Which key starts which action. */
export const ACTION_KEYS: Record<string, ActionKind> = { s: 'scale', r: 'restart', l: 'logs', t: 'retier' };

/** Which ConsoleActions method an action needs (absent → the key is not wired). */
const NEEDS: Record<ActionKind, keyof ConsoleActions> = { scale: 'scale', restart: 'restart', logs: 'logs', retier: 'retier' };

/** Whether `actions` can run `kind` at all in this build. Pure. */
export function actionAvailable(actions: ConsoleActions, kind: ActionKind): boolean {
  return typeof actions[NEEDS[kind]] === 'function';
}

/** One line per tier for the re-tier choice (shapes from the design's tier table). */
export const TIER_LABELS: Record<Tier, string> = {
  default: 'default — 1 backend, nginx, PostgreSQL, Redis, 1 queue worker',
  optimized: 'optimized — one host, more workers per backend, bigger pools',
  horizontal: 'horizontal — several backend replicas behind nginx',
  cluster: 'cluster — several hosts (Swarm), PgBouncer, read replica',
};

/** Everything a key action needs. */
export interface ActionContext {
  /** The selected service, or null when the table is empty. */
  service: ServiceStatus | null;
  /** The installed tier. */
  tier: Tier;
  actions: ConsoleActions;
  prompter: Prompter;
  reporter: StepReporter;
  /** Log lines the `l` key fetches. */
  logTail: number;
}

/** How a key action ended. `logs` is set when the logs view should open. */
export interface ActionOutcome {
  kind: ActionKind;
  status: 'done' | 'cancelled' | 'unavailable' | 'failed';
  /** One line for the dashboard's status line. */
  message: string;
  /** What the operator should do next (from the op's CareboxError), or null. */
  hint: string | null;
  /** The failure's next lines (e.g. the violated budget under "does not fit"), trimmed; may be empty. */
  details: string[];
  logs?: { service: string; lines: string[] };
}

const outcome = (kind: ActionKind, status: ActionOutcome['status'], message: string, hint: string | null = null, details: string[] = []): ActionOutcome => ({
  kind,
  status,
  message,
  hint,
  details,
});

/** An op's error as an outcome: the first line after `prefix`, the next lines as details, the hint. */
function failed(kind: ActionKind, prefix: string, err: unknown): ActionOutcome {
  const e = err instanceof Error ? err : new Error(String(err));
  const [first = '', ...rest] = e.message.split('\n');
  return outcome(
    kind,
    'failed',
    `${prefix}: ${first}`,
    err instanceof CareboxError ? err.hint : null,
    rest.map((l) => l.trim()).filter((l) => l !== ''),
  );
}

async function attempt(kind: ActionKind, what: string, run: () => Promise<string>): Promise<ActionOutcome> {
  try {
    return outcome(kind, 'done', await run());
  } catch (err) {
    return failed(kind, `${what} failed`, err);
  }
}

/**
 * Run the action of one key: every action asks for confirmation before it acts (read-only `logs`
 * defaults to yes, the others to no), then runs the op with `ctx.reporter` for progress.
 * Never throws: a refused or failed op comes back as `failed` with its message and hint.
 */
export async function runKeyAction(kind: ActionKind, ctx: ActionContext): Promise<ActionOutcome> {
  const { actions, prompter, reporter } = ctx;
  if (!actionAvailable(actions, kind))
    return outcome(kind, 'unavailable', `${kind} is not available in this build of the console (use the \`carebox ${kind}\` verb)`);
  const svc = ctx.service;
  if (kind !== 'retier' && !svc) return outcome(kind, 'unavailable', 'no service selected');

  switch (kind) {
    case 'scale': {
      const s = svc!;
      if (!actions.scalableServices.includes(s.service)) {
        return outcome(kind, 'unavailable', `${s.service} does not scale; scalable: ${actions.scalableServices.join(', ')}`);
      }
      const n = await prompter.number(`Replicas of ${s.service} (now ${s.expected})`, { initial: s.expected, min: 1, max: actions.maxReplicas });
      if (n === null) return outcome(kind, 'cancelled', 'scale cancelled: nothing changed');
      if (n === s.expected) return outcome(kind, 'cancelled', `${s.service} already has ${n} replica${n === 1 ? '' : 's'}: nothing changed`);
      let details = ['The planner re-checks the connection and memory budgets first and refuses when they do not fit.'];
      if (actions.previewScale) {
        try {
          details = await actions.previewScale(s.service, n);
        } catch (err) {
          return failed(kind, `scale ${s.service} to ${n} refused`, err);
        }
      }
      const ok = await prompter.confirm(`Scale ${s.service} from ${s.expected} to ${n} replicas?`, { details });
      if (!ok) return outcome(kind, 'cancelled', 'scale cancelled: nothing changed');
      return attempt(kind, `scale ${s.service}`, () => actions.scale!(s.service, n, reporter));
    }
    case 'restart': {
      const s = svc!;
      const many = s.containers.length > 1;
      const ok = await prompter.confirm(`Restart ${s.service}${many ? ` (${s.containers.length} containers, one at a time)` : ''}?`);
      if (!ok) return outcome(kind, 'cancelled', 'restart cancelled: nothing changed');
      return attempt(kind, `restart ${s.service}`, () => actions.restart!(s.service, reporter));
    }
    case 'logs': {
      const s = svc!;
      const ok = await prompter.confirm(`Show the last ${ctx.logTail} log lines of ${s.service}?`, { defaultYes: true });
      if (!ok) return outcome(kind, 'cancelled', 'logs cancelled');
      try {
        const lines = await actions.logs!(s.service, ctx.logTail);
        return { ...outcome(kind, 'done', `logs of ${s.service}`), logs: { service: s.service, lines } };
      } catch (err) {
        return failed(kind, `logs of ${s.service} failed`, err);
      }
    }
    case 'retier': {
      const tier = await prompter.choose(
        `Re-tier from ${ctx.tier} to`,
        TIERS.map((t) => ({ value: t, label: `${TIER_LABELS[t]}${t === ctx.tier ? ' (current)' : ''}` })),
        ctx.tier,
      );
      if (tier === null) return outcome(kind, 'cancelled', 're-tier cancelled: nothing changed');
      if (tier === ctx.tier) return outcome(kind, 'cancelled', `already on tier ${tier}: nothing changed`);
      let details: string[] = [];
      if (actions.previewRetier) {
        try {
          const preview = await actions.previewRetier(tier);
          if (preview.noop) return outcome(kind, 'cancelled', `the stack already runs the plan of tier ${tier}: nothing to change`);
          details = preview.lines;
        } catch (err) {
          return failed(kind, `re-tier to ${tier} refused`, err);
        }
      }
      const ok = await prompter.confirm(`Re-tier from ${ctx.tier} to ${tier} (rolling; new replicas healthy before old ones stop)?`, { details });
      if (!ok) return outcome(kind, 'cancelled', 're-tier cancelled: nothing changed');
      return attempt(kind, `re-tier to ${tier}`, () => actions.retier!(tier, reporter));
    }
  }
}
