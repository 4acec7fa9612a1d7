#!/usr/bin/env node
/**
 * `carebox`: the one CLI for people and for upgrade scripts.
 * Exit codes: 0 ok · 1 operation failed · 2 usage error · 3 preflight failed · 4 not healthy.
 */
import { CommanderError } from 'commander';
import { ExitCode } from '../installer/errors.js';
import { buildProgram } from './program.js';

try {
  await (await buildProgram(process.argv)).parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  // help and version exit 0; every parse error (unknown option, missing argument) is a usage error.
  process.exitCode = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? ExitCode.Ok : ExitCode.Usage;
}
