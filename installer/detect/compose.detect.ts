/**
 * Which Docker Compose CLI apply will drive, and its version: the v2 plugin (`docker compose`)
 * first, then a `docker-compose` binary (v1, or v2 installed standalone). Compose v1 and early
 * v2 treat `deploy.resources` differently, so the renderer and preflight need the flavour.
 */
import { execFile } from 'node:child_process';
import type { ComposeFact } from './host-facts.js';
import { malformed, parsed, quote, type Parsed } from './parse-result.js';

/**
 * Extracts the semantic version from `version --short` output: `2.26.1-4` (Debian build) →
 * `2.26.1`, `v2.20.2` → `2.20.2`, `1.29.2` → `1.29.2`. The first `MAJOR.MINOR.PATCH` in the
 * text wins, so the long form (`Docker Compose version v2.26.1`) works too. Pure.
 *
 * @returns `MAJOR.MINOR.PATCH`, or `ok: false` when the text holds none.
 */
export function parseComposeVersion(text: string): Parsed<string> {
  const m = /(?:^|[^\d.])v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!m) return malformed(`no version in ${quote(text)}`);
  return parsed(`${Number(m[1])}.${Number(m[2])}.${Number(m[3])}`);
}

/** The flavour for a version found through the plugin (`docker compose`) or a `docker-compose` binary. Pure. */
export function composeFlavour(via: 'plugin' | 'binary', version: string): NonNullable<ComposeFact['flavour']> {
  if (via === 'plugin') return 'v2-plugin';
  return Number.parseInt(version, 10) >= 2 ? 'v2-binary' : 'v1-binary';
}

/** Result of running one command: stdout, or a one-line reason it gave none. */
type RunResult = { ok: true; stdout: string } | { ok: false; reason: string };

/** Runs argv with a time bound; never throws. */
function run(argv: [string, ...string[]], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (err === null) return resolve({ ok: true, stdout: String(stdout) });
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') return resolve({ ok: false, reason: `${file} is not installed` });
      if (e.killed) return resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` });
      const why = String(stderr).trim().split('\n')[0] || e.message.split('\n')[0] || 'failed';
      resolve({ ok: false, reason: why });
    });
  });
}

/** Options for {@link detectCompose}. */
export interface ComposeDetectOptions {
  /** Environment for the commands (its PATH decides which binaries are found). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Bound for each command, ms (default 5000). */
  timeoutMs?: number;
}

/**
 * Tries `docker compose version --short`, then `docker-compose version --short`.
 *
 * @returns the flavour, version and argv prefix of the first that answers with a version; when
 *   neither does, `flavour: null` and `error` names what each attempt said and how to install
 *   Compose. Never throws.
 */
export async function detectCompose(opts: ComposeDetectOptions = {}): Promise<ComposeFact> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const attempts: { via: 'plugin' | 'binary'; command: [string, ...string[]] }[] = [
    { via: 'plugin', command: ['docker', 'compose'] },
    { via: 'binary', command: ['docker-compose'] },
  ];
  const failures: string[] = [];
  for (const { via, command } of attempts) {
    const r = await run([...command, 'version', '--short'], env, timeoutMs);
    const label = `\`${command.join(' ')} version\``;
    if (!r.ok) {
      failures.push(`${label}: ${r.reason}`);
      continue;
    }
    const v = parseComposeVersion(r.stdout);
    if (!v.ok) {
      failures.push(`${label}: ${v.reason}`);
      continue;
    }
    return { flavour: composeFlavour(via, v.value), version: v.value, command, error: null };
  }
  return {
    flavour: null,
    version: null,
    command: [],
    error:
      `Docker Compose not found (${failures.join('; ')}): install the Compose v2 plugin ` +
      '(the docker-compose-plugin package, or /usr/libexec/docker/cli-plugins/docker-compose from Debian 13)',
  };
}
