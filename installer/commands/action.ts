import type { Command } from 'commander';
import { appendOperation, isLoggedRun, operationEntry } from '../manifest/operations.log.js';
import { commonOptions } from './common.options.js';
import { processOutput, reportError, type Output } from './output.js';

/** Raw commander options of a verb. */
export type RawOptions = Record<string, string | boolean | undefined>;

/** A verb's body: gets the output, its raw options and positional args; returns the exit code. */
export type CommandBody = (out: Output, raw: RawOptions, args: string[]) => Promise<number>;

/** Wraps a verb body into a commander action that maps errors to the CLI contract's exit codes. */
export type ActionRunner = (body: CommandBody) => (...args: unknown[]) => Promise<void>;

/**
 * The standard runner: builds the Output from `--json`, runs the body, reports CareboxErrors
 * (exit 1–4) and bugs (exit 1), and sets process.exitCode (never calls process.exit, so streams flush).
 */
export const runAction: ActionRunner =
  (body) =>
  async (...args) => {
    const cmd = args[args.length - 1] as Command;
    // With the parent's options: `backup schedule --dir X --json` gives --dir/--json to `backup`
    // (which has them too) when commander reaches it first. Top-level verbs have no such parent.
    const raw = cmd.optsWithGlobals() as RawOptions;
    const positional = args.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a.map(String) : typeof a === 'string' ? [a] : []));
    const out = processOutput(Boolean(raw.json));
    const startedAt = new Date();
    let error: string | null = null;
    try {
      process.exitCode = await body(out, raw, positional);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      process.exitCode = reportError(err, out);
    }
    await logOperation(commandPath(cmd), positional, raw, startedAt, Number(process.exitCode ?? 0), error, out);
  };

/** A command's names below the program: `backup schedule`, `alerts silence`, `install`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Appends a verb that changes the stack to the install root's operations log (never throws). */
async function logOperation(
  verb: string,
  args: string[],
  raw: RawOptions,
  startedAt: Date,
  exitCode: number,
  error: string | null,
  out: Output,
): Promise<void> {
  if (!isLoggedRun(verb, args, raw)) return;
  let dir: string;
  try {
    dir = commonOptions(raw as { dir?: string }).dir;
  } catch {
    return; // a bad --dir: nothing ran
  }
  const entry = operationEntry({ verb, args, options: raw, startedAt, durationMs: Date.now() - startedAt.getTime(), exitCode, error });
  const r = await appendOperation(dir, entry);
  if (r.error) out.log(`warning: could not append to ${dir}/operations.log: ${r.error}`);
}
