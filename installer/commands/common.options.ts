import { Command, Option } from 'commander';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { defaultInstallRoot } from '../paths.js';

/** Options every verb takes. */
export interface CommonOptions {
  dir: string;
  json: boolean;
}

/**
 * Add `--dir DIR` and `--json` to a command (the CLI contract: every verb takes both).
 * @param jsonHelp the `--json` help text, for a verb whose output is not one document (`logs`).
 */
export function withCommon(cmd: Command, jsonHelp = 'print one JSON document on stdout; logs go to stderr'): Command {
  return cmd
    .addOption(new Option('--dir <DIR>', 'install root (default: $CAREBOX_DIR or /opt/carebox)'))
    .addOption(new Option('--json', jsonHelp).default(false));
}

/**
 * Resolve common options, taking CAREBOX_DIR from `env` when --dir is absent.
 * @throws UsageError for an empty --dir (an unset shell variable must never mean the current
 *   directory: install would write there and `uninstall --purge` would delete it), or a --dir that
 *   exists but is not a directory.
 */
export function commonOptions(raw: { dir?: string; json?: boolean }, env: NodeJS.ProcessEnv = process.env): CommonOptions {
  if (raw.dir !== undefined && raw.dir.trim() === '')
    throw new UsageError('--dir must not be empty', 'give the install root, e.g. --dir /opt/carebox (or leave --dir out for $CAREBOX_DIR, else /opt/carebox)');
  const dir = resolve(raw.dir ?? defaultInstallRoot(env));
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(dir);
  } catch {
    st = undefined; // does not exist (yet): install creates it, other verbs say there is no install
  }
  if (st && !st.isDirectory()) throw new UsageError(`--dir ${dir} is not a directory`, 'give the install root directory');
  return { dir, json: Boolean(raw.json) };
}

/**
 * Parse an integer flag in [min, max].
 * @throws UsageError naming the flag and the range.
 */
export function intFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${name} must be a whole number between ${min} and ${max}, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/**
 * Parse a positive number flag (fractional allowed, e.g. `--cpus 1.5`).
 * @throws UsageError naming the flag.
 */
export function numberFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value.trim())) throw new UsageError(`${name} must be a number between ${min} and ${max}, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** An IPv4 bind address for published ports. @throws UsageError otherwise. */
export function bindFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(value) || value.split('.').some((o) => Number(o) > 255)) {
    throw new UsageError(`--bind must be an IPv4 address such as 0.0.0.0 or 127.0.0.1, got '${value}'`);
  }
  return value;
}
