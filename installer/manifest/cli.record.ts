/**
 * Which Carebox CLI runs, and which one an install root records. A release runs the CLI as a
 * container image (cli/Dockerfile) through the launcher cli/carebox.sh; the launcher tells the CLI
 * its image in `CAREBOX_CLI_IMAGE`. The source route (install.sh, `node dist/console/cli.js`) has
 * no image.
 *
 * The install root keeps the CLI image in `cli-image` (one line, the image reference) beside
 * carebox.json: the launcher, a POSIX shell script, reads that file to run the CLI that installed
 * or last upgraded this root (it cannot parse JSON).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../apply/fs.atomic.js';
import { imageRefSchema } from '../render/images.map.js';
import { INSTALL_FILES } from '../paths.js';
import { CAREBOX_VERSION } from '../version.js';
import type { CliRecord } from './manifest.js';

/**
 * The CLI running now: this package's version, and its image when the launcher started it.
 * `env` is a parameter so callers stay pure.
 * @throws nothing; an image reference that is not pinned is ignored (null).
 */
export function runningCli(env: NodeJS.ProcessEnv = process.env): CliRecord {
  const ref = env.CAREBOX_CLI_IMAGE?.trim();
  return { version: CAREBOX_VERSION, image: ref && imageRefSchema.safeParse(ref).success ? ref : null };
}

/**
 * Record the CLI image for the launcher (`<root>/cli-image`, mode 0644, written atomically).
 * Nothing is written for a CLI without an image (the source route), so a root installed from a
 * release keeps its CLI image when a developer runs the source CLI on it.
 */
export async function writeCliImageFile(root: string, cli: CliRecord): Promise<void> {
  if (cli.image) await writeFileAtomic(join(root, INSTALL_FILES.cliImage), `${cli.image}\n`, 0o644);
}

/** Versions a person or script asks for with `--version` or `status`. */
export interface VersionReport {
  /** The CLI answering: its version and image (null: run from source). */
  cli: CliRecord;
  /** The install at `root`: the Carebox version its stack runs and the server image; null when no install is there. */
  stack: { root: string; version: string; server: string | null; cli: CliRecord | null } | null;
}

/**
 * The CLI's and the stack's versions. Reads `<root>/carebox.json` synchronously (for commander's
 * `--version`); a missing or unreadable manifest gives `stack: null`. Never throws.
 */
export function versionReport(root: string, env: NodeJS.ProcessEnv = process.env): VersionReport {
  let stack: VersionReport['stack'] = null;
  try {
    const m = JSON.parse(readFileSync(join(root, INSTALL_FILES.manifest), 'utf8')) as {
      carebox?: { version?: unknown };
      images?: { server?: unknown };
      cli?: CliRecord | null;
    };
    if (typeof m.carebox?.version === 'string')
      stack = { root, version: m.carebox.version, server: typeof m.images?.server === 'string' ? m.images.server : null, cli: m.cli ?? null };
  } catch {
    stack = null;
  }
  return { cli: runningCli(env), stack };
}

/** One line per part: `CLI 0.2.0 (image carebox/cli:0.2.0)` and `stack 0.2.0 at /opt/carebox (server …)`. Pure. */
export function formatVersions(v: VersionReport): string {
  const cli = `carebox CLI ${v.cli.version}${v.cli.image ? ` (image ${v.cli.image})` : ' (from source)'}`;
  const stack = v.stack
    ? `stack ${v.stack.version} at ${v.stack.root}${v.stack.server ? ` (server ${v.stack.server})` : ''}`
    : 'stack: no install found (pass --dir or set CAREBOX_DIR)';
  return `${cli}\n${stack}`;
}
