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
  // help and version exit 0; every parse error (unknown option, missing argument) is a usage error.
  process.exitCode = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? ExitCode.Ok : ExitCode.Usage;
  // Scripts that asked for --json get the same error document as for every other usage error
  // (commander has already printed its message to stderr).
  if (process.exitCode === ExitCode.Usage && process.argv.slice(2).includes('--json')) {
    const message = err.message.replace(/^error:\s*/, '');
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'USAGE', message, hint: 'see `carebox help` or `carebox <command> --help`', exitCode: ExitCode.Usage } }, null, 2)}\n`);
  }
}
