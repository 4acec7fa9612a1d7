/**
 * Maintenance mode (`carebox maintenance on|off [--message TEXT] [--full]`): nginx answers writes
 * (every method but GET, HEAD and OPTIONS), or with `full` every request but its own
 * `/nginx-health`, with a JSON 503, a `Retry-After` header and the operator's message, while reads
 * keep reaching the backends. Upgrade (around a contract migration), restore and the PostgreSQL
 * major move use it for the window in which they may replace data, so no write is acknowledged
 * that a restore could then throw away.
 *
 * The state is one file, `nginx/maintenance.conf` in the install root, which nginx.conf includes
 * by a glob (`maintenance*.conf`): no file, no maintenance. Renders never write it, so it survives
 * `install` re-runs, re-tiers and reloads, and nginx reads it again on every start. Its first line
 * carries the state as JSON for `status` and the console. It is swapped in atomically and checked
 * with `nginx -t` in the running container before the reload (through the one reload queue); a
 * rejected file is put back as it was.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../installer/apply/fs.atomic.js';
import { OperationError, UsageError } from '../../installer/errors.js';
import { execIn } from '../../installer/runtime/container.exec.js';
import { listStackContainers } from '../../installer/runtime/stack.containers.js';
import { reloadNginx } from '../../installer/runtime/nginx.reload.js';
import type { Stack } from './stack.js';

/** The include file, relative to the install root (next to nginx.conf, in the mounted nginx/ dir). */
export const MAINTENANCE_FILE = 'nginx/maintenance.conf';
const HEADER = '# carebox-maintenance ';

/** Retry-After default, seconds. */
export const DEFAULT_RETRY_AFTER_S = 30;
/** Longest message, characters. */
export const MAX_MESSAGE_CHARS = 300;

/**
 * The message is written into an nginx string and a JSON string: printable text only, and none of
 * `"`, `'`, `\` (quoting) or `$` (nginx variables).
 */
export const maintenanceMessageSchema = z
  .string()
  .trim()
  .min(1, 'the message is empty')
  .max(MAX_MESSAGE_CHARS, `the message is longer than ${MAX_MESSAGE_CHARS} characters`)
  .refine((s) => !/[\p{Cc}"'\\$]/u.test(s), 'the message may not contain control characters, quotes, backslashes or $');

/** What `maintenance.conf` records. */
export const maintenanceStateSchema = z.object({
  /** `writes`: every method but GET/HEAD/OPTIONS is refused; `full`: every request. */
  mode: z.enum(['writes', 'full']),
  message: maintenanceMessageSchema,
  /** Sent as `Retry-After`, seconds. */
  retryAfterS: z.number().int().min(1).max(86_400),
  /** ISO-8601 UTC. */
  since: z.string(),
  /** Who turned it on: `cli` (an operator), or the operation (`upgrade`, `restore`, `pg-major`). */
  by: z.string(),
});
export type MaintenanceState = z.infer<typeof maintenanceStateSchema>;

/** The default message for each operation that turns maintenance on itself. */
export function defaultMessage(by: string): string {
  if (by === 'cli') return 'Carebox is in maintenance. Changes are paused; reading records still works.';
  if (by === 'upgrade') return 'Carebox is being upgraded. Changes are paused for a few minutes; reading records still works.';
  if (by === 'restore') return 'Carebox is restoring a backup. It is unavailable for a few minutes.';
  return 'Carebox is moving its database. It is unavailable for a few minutes.';
}

/** One line describing a maintenance state. Pure. */
export function formatMaintenance(s: MaintenanceState | null): string {
  if (!s) return 'Maintenance: off (reads and writes are served)';
  return `Maintenance: ON since ${s.since} by ${s.by}: ${s.mode === 'full' ? 'every request' : 'writes (POST, PUT, PATCH, DELETE)'} answered 503, Retry-After ${s.retryAfterS} s; reads ${s.mode === 'full' ? 'refused too' : 'still served'}. Message: ${s.message}`;
}

/**
 * Validate a `--message`.
 * @throws UsageError (exit 2) naming what is wrong.
 */
export function parseMaintenanceMessage(text: string): string {
  const r = maintenanceMessageSchema.safeParse(text);
  if (!r.success)
    throw new UsageError(
      `--message: ${r.error.issues[0]!.message}`,
      `plain text up to ${MAX_MESSAGE_CHARS} characters, e.g. --message "Upgrade until 14:30; reading works"`,
    );
  return r.data;
}

/**
 * The nginx include for a state. Server context: a server-level `if` sends matching requests to a
 * named location through an internal status (418), which answers the 503. Pure.
 */
export function renderMaintenanceConf(state: MaintenanceState): string {
  const body = JSON.stringify({ error: { code: 'MAINTENANCE', message: state.message, retryAfterSeconds: state.retryAfterS, scope: state.mode } });
  const match = state.mode === 'full' ? 'if ($uri != /nginx-health) { return 418; }' : 'if ($request_method !~ ^(GET|HEAD|OPTIONS)$) { return 418; }';
  return [
    `${HEADER}${JSON.stringify(state)}`,
    '# Written by `carebox maintenance` (or by upgrade/restore for their window); `carebox maintenance off` removes it.',
    'error_page 418 = @carebox_maintenance;',
    match,
    'location @carebox_maintenance {',
    '    default_type application/json;',
    `    add_header Retry-After ${state.retryAfterS} always;`,
    `    add_header X-Carebox-Maintenance ${state.mode} always;`,
    `    return 503 '${body}\\n';`,
    '}',
    '',
  ].join('\n');
}

/** The state recorded in a maintenance.conf, or null when the text is not one. Pure. */
export function parseMaintenanceConf(text: string): MaintenanceState | null {
  const first = text.split('\n', 1)[0] ?? '';
  if (!first.startsWith(HEADER)) return null;
  try {
    const r = maintenanceStateSchema.safeParse(JSON.parse(first.slice(HEADER.length)));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** The install root's maintenance state, or null when maintenance is off. */
export async function readMaintenance(root: string): Promise<MaintenanceState | null> {
  const text = await fs.readFile(join(root, MAINTENANCE_FILE), 'utf8').catch(() => null);
  return text === null
    ? null
    : (parseMaintenanceConf(text) ?? {
        mode: 'writes',
        message: 'maintenance.conf is present but unreadable',
        retryAfterS: DEFAULT_RETRY_AFTER_S,
        since: '',
        by: 'unknown',
      });
}

/** Lists the PIDs of nginx worker processes (current and shutting down) inside a container. */
const WORKERS_SH =
  'for p in /proc/[0-9]*; do c=$(tr "\\0" " " < "$p/cmdline" 2>/dev/null); case "$c" in "nginx: worker process"*) echo "${p#/proc/}";; esac; done';

/** PIDs of the nginx worker processes in a container, or null when they cannot be listed (no sh). */
async function workerPids(docker: Stack['docker'], id: string): Promise<Set<string> | null> {
  const r = await execIn(docker, id, ['sh', '-c', WORKERS_SH], { timeoutMs: 10_000 }).catch(() => null);
  return r && r.code === 0
    ? new Set(
        r.stdout
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean),
      )
    : null;
}

/**
 * Wait until every worker that ran before the reload has exited. `nginx -s reload` only signals
 * the master; old workers keep serving what they already accepted (keep-alive connections
 * included) under the old configuration until they finish. Once they are gone, every request
 * answered under the old state has completed, so a backup taken after this holds every write that
 * got a 2xx, and no 2xx can come from the old state any more.
 * @throws OperationError when old workers are still there after `timeoutMs` (a request longer
 *   than nginx's proxy timeouts).
 */
async function waitOldWorkersGone(
  docker: Stack['docker'],
  id: string,
  old: Set<string> | null,
  onProgress: (m: string) => void,
  timeoutMs = 90_000,
): Promise<void> {
  if (!old) {
    // Cannot list processes in this image: wait out a graceful reload of short requests.
    onProgress('cannot list nginx workers (no sh in the image); waiting 5 s for the old ones to finish');
    await new Promise((r) => setTimeout(r, 5000));
    return;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await workerPids(docker, id);
    const left = now ? [...old].filter((p) => now.has(p)) : [];
    if (left.length === 0) return;
    if (Date.now() > deadline)
      throw new OperationError(
        `nginx workers ${left.join(', ')} still run the previous configuration after ${timeoutMs / 1000} s`,
        'a long request is still in flight; retry, or check `carebox logs nginx`',
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Turn maintenance on with `state`, or off with null: swap the include file in atomically, test
 * and reload nginx. When nginx rejects the file or cannot be reloaded, the previous file is put
 * back (and reloaded) before the error is rethrown. When nginx is not running the file is written
 * and takes effect when it starts. It returns only once every nginx worker of the previous state
 * has exited (every request answered under it has completed).
 * @returns the state now in force.
 * @throws NginxConfigError / OperationError from the reload (`nginx -t` failed, the signal failed).
 */
export async function setMaintenance(
  stack: Pick<Stack, 'root' | 'docker' | 'manifest'>,
  state: MaintenanceState | null,
  onProgress: (m: string) => void = () => undefined,
): Promise<MaintenanceState | null> {
  const path = join(stack.root, MAINTENANCE_FILE);
  const previous = await fs.readFile(path, 'utf8').catch(() => null);
  const next = state ? renderMaintenanceConf(state) : null;
  if (previous === next) return state;
  const write = async (content: string | null) => (content === null ? fs.rm(path, { force: true }) : writeFileAtomic(path, content, 0o644));
  await write(next);
  const nginx = (await listStackContainers(stack.docker, stack.manifest.project)).filter((c) => c.service === 'nginx' && c.state === 'running');
  if (nginx.length === 0) {
    // Nothing to reload: no request reaches the stack now, and nginx reads the file when it starts.
    onProgress(`nginx is not running; maintenance is ${state ? 'on' : 'off'} from its next start`);
    return state;
  }
  try {
    const before = await Promise.all(nginx.map((c) => workerPids(stack.docker, c.id)));
    await reloadNginx(stack.docker, stack.manifest.project, onProgress);
    await Promise.all(nginx.map((c, i) => waitOldWorkersGone(stack.docker, c.id, before[i]!, onProgress)));
  } catch (err) {
    await write(previous);
    await reloadNginx(stack.docker, stack.manifest.project).catch(() => undefined);
    throw err;
  }
  onProgress(
    state ? `maintenance on (${state.mode === 'full' ? 'every request' : 'writes'} answered 503, Retry-After ${state.retryAfterS} s)` : 'maintenance off',
  );
  return state;
}

/** Closes a window opened by {@link openMaintenanceWindow}: puts back the state found when it opened. */
export type CloseMaintenanceWindow = () => Promise<void>;

/**
 * Open a maintenance window of at least `mode` for an operation (`by`). When an operator already
 * turned maintenance on, their window is kept (widened to `full` for the duration when the
 * operation needs it) and closing puts it back as it was, still on.
 * @returns the function that closes the window (it never throws: a failure to reload nginx is
 *   reported through onProgress with the command that fixes it).
 * @throws the errors of setMaintenance when the window cannot be opened (nothing changed then).
 */
export async function openMaintenanceWindow(
  stack: Pick<Stack, 'root' | 'docker' | 'manifest'>,
  opts: { mode: MaintenanceState['mode']; by: string; retryAfterS?: number; onProgress?: (m: string) => void },
): Promise<CloseMaintenanceWindow> {
  const before = await readMaintenance(stack.root);
  const wanted: MaintenanceState | null =
    before && (before.mode === 'full' || opts.mode === 'writes')
      ? null
      : {
          mode: opts.mode,
          message: before?.message ?? defaultMessage(opts.by),
          retryAfterS: opts.retryAfterS ?? before?.retryAfterS ?? DEFAULT_RETRY_AFTER_S,
          since: new Date().toISOString(),
          by: before ? before.by : opts.by,
        };
  if (wanted) await setMaintenance(stack, wanted, opts.onProgress);
  return async () => {
    if (!wanted) return;
    await setMaintenance(stack, before, opts.onProgress).catch((e: Error) =>
      opts.onProgress?.(`maintenance could not be turned off (${e.message.split('\n')[0]}): run \`carebox maintenance off\``),
    );
  };
}

/**
 * Run `fn` inside a maintenance window ({@link openMaintenanceWindow}); the window closes when
 * `fn` ends, successfully or not, unless `keepOn(err)` says the stack must stay closed.
 * @throws whatever `fn` throws; the errors of setMaintenance when the window cannot be opened.
 */
export async function withMaintenance<T>(
  stack: Pick<Stack, 'root' | 'docker' | 'manifest'>,
  opts: { mode: MaintenanceState['mode']; by: string; retryAfterS?: number; keepOn?: (err: unknown) => boolean; onProgress?: (m: string) => void },
  fn: () => Promise<T>,
): Promise<T> {
  const close = await openMaintenanceWindow(stack, opts);
  try {
    const r = await fn();
    await close();
    return r;
  } catch (err) {
    if (!opts.keepOn?.(err)) await close();
    throw err;
  }
}
