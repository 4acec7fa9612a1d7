import { CareboxError, ExitCode } from '../errors.js';

/** Where a command writes: stdout for results, stderr for logs and progress. */
export interface Output {
  json: boolean;
  /** Human result text (stdout). Ignored in --json mode. */
  print(text: string): void;
  /** Progress and log lines (stderr), in both modes. */
  log(text: string): void;
  /** The single JSON document (stdout) in --json mode. */
  result(doc: unknown): void;
}

/** An Output bound to the process streams. */
export function processOutput(json: boolean, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Output {
  return {
    json,
    print: (t) => {
      if (!json) out.write(t.endsWith('\n') ? t : `${t}\n`);
    },
    log: (t) => {
      err.write(t.endsWith('\n') ? t : `${t}\n`);
    },
    result: (doc) => {
      if (json) out.write(`${JSON.stringify(doc, null, 2)}\n`);
    },
  };
}

/**
 * The same Output, but its JSON document is written on one line: for a verb whose `--json` output
 * is JSON Lines (`logs`), so that even its error is one line a JSONL reader can parse.
 */
export function jsonLinesOutput(output: Output, out: NodeJS.WritableStream = process.stdout): Output {
  return {
    ...output,
    result: (doc) => {
      if (output.json) out.write(`${JSON.stringify(doc)}\n`);
    },
  };
}

/**
 * Report an error as the CLI contract says and return the exit code: in --json mode one JSON
 * document `{ ok: false, error: {code, message, hint, exitCode} }` on stdout; otherwise the message
 * and hint on stderr. Unexpected errors (bugs) exit 1 with their stack on stderr.
 */
export function reportError(err: unknown, output: Output): number {
  if (err instanceof CareboxError) {
    output.result({ ok: false, error: err.toJSON() });
    output.log(`error: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`);
    return err.exitCode;
  }
  const e = err as Error;
  output.result({
    ok: false,
    error: { code: 'INTERNAL', message: String(e?.message ?? e), hint: 'this is a Carebox bug; please report it with `carebox support-bundle`', exitCode: 1 },
  });
  output.log(`internal error: ${e?.stack ?? String(e)}`);
  return ExitCode.Failed;
}
