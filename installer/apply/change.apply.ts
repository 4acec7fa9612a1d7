/**
 * `applyChange`: the one transaction every change to a running stack goes through.
 *
 *   lock → render → write (previous versions to backups/config-<UTC>/) → rollout
 *        ↘ on a failed write or rollout step: put the files back, run the rollout's restore, rethrow
 *   → after-steps → record the manifest (carebox.json, with its history entry)
 *
 * A verb supplies only its target (the files and the manifest to record) and its rollout (plain
 * data from a pure function: rollout.ts). The runtime is an interface, so the transaction is
 * tested against a fake one (test/unit/apply/change.apply.test.ts) and proven on Docker by e2e.
 */
import type { Manifest } from '../manifest/manifest.js';
import { writeManifest } from '../manifest/manifest.js';
import type { Plan } from '../plan/plan.types.js';
import type { RenderedFile } from '../render/render.js';
import type { StackRuntime } from '../runtime/stack.runtime.js';
import { currentContents, putBackFiles, writeRenderedFiles, type FileChange } from './files.write.js';
import { utcStamp } from './fs.atomic.js';
import { observedNothing, runAction, stepIsDue, type ActionContext, type ActionOutcome, type Observed, type Rollout, type RolloutStep } from './rollout.js';
import { step, type StepReporter } from './steps.js';

/** What a change writes and records. */
export interface ChangeTarget {
  /** The operation's name in the stack lock (`scale backend=3`). */
  op: string;
  /** The plan being applied. */
  plan: Plan;
  /**
   * The files: already rendered (a preview rendered them), or rendered in a `render` step.
   * Empty: the change writes nothing (a restart).
   */
  files: RenderedFile[] | { title: string; render: () => Promise<RenderedFile[]> };
  /** Title of the `write` step (default: `Write files (previous versions to backups/)`). */
  writeTitle?: string;
  /** Paths that stay as written when the change fails. */
  keep?: readonly string[];
  /** The manifest to record after the rollout (`now` is an ISO time), or null to record nothing. */
  record: { title: string; manifest: (files: RenderedFile[], now: string) => Manifest } | null;
  /** Health wait for new or restarted tasks, ms. */
  timeoutMs: number;
  /** The error to throw when the write or a rollout step failed, after everything was put back (default: the error itself). */
  failed?: (err: unknown, observed: Observed) => unknown;
}

/** What a change did. */
export interface ChangeResult {
  files: RenderedFile[];
  changes: FileChange[];
  /** Each rollout and after-step's outcome, by step id (steps that were not due have none). */
  outcomes: Record<string, ActionOutcome>;
  /** What the rollout observed (PostgreSQL's restart, if any). */
  observed: Observed;
  /** The recorded manifest, or null when the target records none. */
  manifest: Manifest | null;
}

/** The write step's one-line summary. Pure. */
export function writeSummary(changes: FileChange[]): string {
  return (
    changes
      .filter((x) => x.status !== 'unchanged')
      .map((x) => `${x.status} ${x.path}`)
      .join(', ') || 'nothing changed'
  );
}

/**
 * Apply one change to a running stack under the stack lock (taken here unless the call chain
 * holds it already).
 * @throws whatever failed (rendering, writing, a rollout step, recording), unchanged; when the
 *   write or a rollout step failed, the previous files are back on disk and the rollout's restore
 *   actions have run before it (or `target.failed`'s error) is thrown.
 */
export async function applyChange(rt: StackRuntime, target: ChangeTarget, rollout: Rollout, reporter: StepReporter): Promise<ChangeResult> {
  return rt.withLock(target.op, async () => {
    const stamp = utcStamp();
    const files = Array.isArray(target.files)
      ? target.files
      : await step(reporter, 'render', target.files.title, target.files.render, (f) => `${f.length} files rendered`);
    const previous = await currentContents(rt.root, files);
    const ctx: ActionContext = { observed: observedNothing(), timeoutMs: target.timeoutMs, plan: target.plan, changes: [] };
    const outcomes: Record<string, ActionOutcome> = {};
    const run = async (s: RolloutStep) => {
      if (!(await stepIsDue(rt, s.action, ctx))) return;
      if (s.quiet) outcomes[s.id] = await runAction(rt, s.action, ctx, () => undefined);
      else {
        const title = s.title.replace('{liveMaxConnections}', String(ctx.observed.liveMaxConnections));
        outcomes[s.id] = await step(
          reporter,
          s.id,
          title,
          (p) => runAction(rt, s.action, ctx, p),
          (o) => o.summary,
        );
      }
    };
    try {
      if (files.length > 0)
        ctx.changes = await step(
          reporter,
          'write',
          target.writeTitle ?? 'Write files (previous versions to backups/)',
          () => writeRenderedFiles(rt.root, files, stamp),
          writeSummary,
        );
      for (const s of rollout.steps) await run(s);
    } catch (err) {
      await putBackFiles(rt.root, previous, files, target.keep ?? []);
      for (const a of rollout.restore) await runAction(rt, a, ctx, () => undefined).catch(() => undefined);
      throw target.failed ? target.failed(err, ctx.observed) : err;
    }
    for (const s of rollout.after) await run(s);
    const record = target.record;
    const manifest = record
      ? await step(
          reporter,
          'manifest',
          record.title,
          async () => {
            const next = record.manifest(files, new Date().toISOString());
            await writeManifest(rt.root, next, stamp);
            return next;
          },
          () => 'carebox.json updated',
        )
      : null;
    return { files, changes: ctx.changes, outcomes, observed: ctx.observed, manifest };
  });
}
