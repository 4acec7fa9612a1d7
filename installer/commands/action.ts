import type { Command } from 'commander';
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
export const runAction: ActionRunner = (body) => async (...args) => {
  const cmd = args[args.length - 1] as Command;
  const raw = cmd.opts() as RawOptions;
  const positional = args.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a.map(String) : typeof a === 'string' ? [a] : []));
  const out = processOutput(Boolean(raw.json));
  try {
    process.exitCode = await body(out, raw, positional);
  } catch (err) {
    process.exitCode = reportError(err, out);
  }
};
