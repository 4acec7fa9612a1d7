#!/usr/bin/env node
/**
 * `carebox`: the one CLI for people and for upgrade scripts.
 * Exit codes: 0 ok · 1 operation failed · 2 usage error · 3 preflight failed · 4 not healthy ·
 * 130 interrupted.
 */
import { CommanderError } from 'commander';
import { ExitCode } from '../installer/errors.js';
import { buildProgram } from './program.js';

// A reader that goes away (`carebox logs backend | head`) is the end of the output, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.Ok);
    throw err;
  });
}

try {
  await (await buildProgram(process.argv)).parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  // `--help`, `help` and `--version` exit 0. Every parse error (unknown option, missing argument)
  // is a usage error, and so is a bare `carebox` with no verb: commander prints the help on stderr
  // then, as for an error (exitCode 1 on its 'commander.help'), and the README's table says 2.
  const ok = ['commander.helpDisplayed', 'commander.version'].includes(err.code) || (err.code === 'commander.help' && err.exitCode === 0);
  process.exitCode = ok ? ExitCode.Ok : ExitCode.Usage;
  // Scripts that asked for --json get the same error document as for every other usage error
  // (commander has already printed its message to stderr). `logs --json` is JSON Lines: one line.
  if (process.exitCode === ExitCode.Usage && process.argv.slice(2).includes('--json')) {
    const message = err.code === 'commander.help' ? 'no command given' : err.message.replace(/^error:\s*/, '');
    const verb = process.argv.slice(2).find((a) => !a.startsWith('-'));
    const doc = { ok: false, error: { code: 'USAGE', message, hint: 'see `carebox help` or `carebox <command> --help`', exitCode: ExitCode.Usage } };
    process.stdout.write(`${JSON.stringify(doc, null, verb === 'logs' ? undefined : 2)}\n`);
  }
}
