/**
 * The operations log: one JSON line per `carebox` verb that changes the stack, appended to
 * `operations.log` in the install root (mode 0600): who ran it (the OS user, and the user behind
 * sudo), when, what (the verb, its arguments, the options given with secrets and free text
 * redacted) and the result (exit code, the error's first line). Lines are only ever appended.
 * `carebox history` prints it and the support bundle carries it.
 */
import { appendFile, open, readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { redactUrl } from '../backup/offsite.config.js';
import { INSTALL_FILES } from '../paths.js';

/** Verbs that change the stack, its data or its files, and so are logged. */
export const LOGGED_VERBS: ReadonlySet<string> = new Set([
  'install',
  'uninstall',
  'restart',
  'scale',
  'retier',
  'backup',
  'restore',
  'maintenance',
  'upgrade',
  'loadtest',
  'demo-data',
  'alerts silence',
  'backup offsite add',
  'backup offsite remove',
  'backup schedule',
]);

/** The options with which `backup schedule` changes the schedule; without them it only shows it. */
const SCHEDULE_CHANGES: readonly string[] = ['at', 'cron', 'off'];

/**
 * Whether a run of `verb` (the command path below `carebox`: `backup`, `backup schedule`, `alerts
 * silence`) changes the stack and goes to the operations log. Reads are not logged: `maintenance
 * status`, and `backup schedule` without an option that changes it. Pure.
 */
export function isLoggedRun(verb: string, args: readonly string[], options: Record<string, unknown>): boolean {
  if (!LOGGED_VERBS.has(verb)) return false;
  if (verb === 'maintenance' && args[0] === 'status') return false;
  if (verb === 'backup schedule') return SCHEDULE_CHANGES.some((k) => options[k] !== undefined && options[k] !== false);
  return true;
}

/** Option values kept as given; everything else is logged as `[redacted]` (free text, paths, secrets). */
const PLAIN_OPTIONS: ReadonlySet<string> = new Set([
  'tier',
  'users',
  'size',
  'thinkTime',
  'timeout',
  'keep',
  'full',
  'yes',
  'json',
  'dryRun',
  'overcommit',
  'maintenanceWindow',
  'pgMajorDumpRestore',
  'purge',
  'retryAfter',
  'duration',
  'maxRate',
  'proofDuration',
  'noSaturation',
  'saturation',
  'saturationMax',
  'patients',
  'all',
  'remove',
  'bind',
  'httpPort',
  'httpsPort',
  'pgbouncer',
  'tail',
  'since',
  'follow',
  'at',
  'cron',
  'timezone',
  'off',
  'for',
]);

const entrySchema = z.object({
  at: z.string(),
  user: z.string(),
  sudoUser: z.string().nullable(),
  uid: z.number().int(),
  verb: z.string(),
  args: z.array(z.string()),
  options: z.record(z.string(), z.union([z.string(), z.boolean()])),
  exitCode: z.number().int(),
  error: z.string().nullable(),
  durationMs: z.number(),
});

/** One line of the operations log. */
export type OperationEntry = z.infer<typeof entrySchema>;

/**
 * Builds the entry of one run. Options outside {@link PLAIN_OPTIONS} keep their name but not their
 * value (a `--message`, a path or anything secret), `dir` is left out (the log lives there).
 * Pure apart from the defaults of `who` (the process's own user).
 */
export function operationEntry(
  run: {
    verb: string;
    args: string[];
    options: Record<string, string | boolean | undefined>;
    startedAt: Date;
    durationMs: number;
    exitCode: number;
    error: string | null;
  },
  who: { user: string; uid: number; sudoUser: string | null } = currentUser(),
): OperationEntry {
  const options: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(run.options)) {
    if (v === undefined || k === 'dir') continue;
    options[k] = PLAIN_OPTIONS.has(k) || typeof v === 'boolean' ? v : '[redacted]';
  }
  // Positional arguments are service names, tiers, actions, backup directories and repository URLs:
  // kept, cut short, and a URL's password (`rest:http://user:pass@…`) masked.
  const args = run.args.map((a) => redactUrl(a).slice(0, 200));
  return {
    at: run.startedAt.toISOString(),
    user: who.user,
    sudoUser: who.sudoUser,
    uid: who.uid,
    verb: run.verb,
    args,
    options,
    exitCode: run.exitCode,
    error: run.error ? redactUrl(run.error.split('\n')[0] ?? '').slice(0, 300) : null,
    durationMs: Math.round(run.durationMs),
  };
}

/**
 * The user running this process, and SUDO_USER when it runs under sudo. In the CLI image the
 * process is root in its container: the launcher (cli/carebox.sh) passes the host user as
 * CAREBOX_OPERATOR, which wins.
 */
export function currentUser(env: NodeJS.ProcessEnv = process.env): { user: string; uid: number; sudoUser: string | null } {
  let user = env.USER ?? 'unknown';
  let uid = -1;
  try {
    const u = userInfo();
    user = u.username;
    uid = u.uid;
  } catch {
    /* no passwd entry (a container's arbitrary uid): keep USER */
  }
  if (env.CAREBOX_OPERATOR && env.CAREBOX_OPERATOR.trim() !== '') user = env.CAREBOX_OPERATOR.trim().slice(0, 64);
  return { user, uid, sudoUser: env.SUDO_USER && env.SUDO_USER !== user ? env.SUDO_USER : null };
}

/**
 * Appends `entry` to `<root>/operations.log` when `root` holds an install (its carebox.json); a
 * root that is gone (`uninstall --purge`) or never was gets nothing.
 * @returns whether a line was written. Never throws: the log must not turn a done operation into a
 *   failed one; a write error is returned as a message instead.
 */
export async function appendOperation(root: string, entry: OperationEntry): Promise<{ written: boolean; error: string | null }> {
  try {
    if (
      !(await stat(join(root, INSTALL_FILES.manifest)).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      return { written: false, error: null };
    const path = join(root, INSTALL_FILES.operationsLog);
    // A line torn by a crash stays one bad line: the next entry starts on a line of its own.
    const torn = await lastByte(path).then((b) => b !== null && b !== 0x0a);
    await appendFile(path, `${torn ? '\n' : ''}${JSON.stringify(entry)}\n`, { mode: 0o600, flag: 'a' });
    return { written: true, error: null };
  } catch (err) {
    return { written: false, error: (err as Error).message };
  }
}

/** The last byte of a file, or null when it is empty or missing. */
async function lastByte(path: string): Promise<number | null> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return null;
  try {
    const { size } = await fh.stat();
    if (size === 0) return null;
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, size - 1);
    return buf[0]!;
  } finally {
    await fh.close();
  }
}

/**
 * Reads the operations log, oldest first. Lines that are not valid entries (a torn last line
 * after a crash, a hand edit) are counted, not fatal.
 * @returns the entries and how many lines were skipped; an empty log when the file does not exist.
 */
export async function readOperations(root: string): Promise<{ entries: OperationEntry[]; skipped: number }> {
  const text = await readFile(join(root, INSTALL_FILES.operationsLog), 'utf8').catch(() => '');
  const entries: OperationEntry[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = entrySchema.safeParse(JSON.parse(line));
      if (r.success) entries.push(r.data);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { entries, skipped };
}

/** One line per entry for people: time, who, the command, the result. Pure. */
export function formatOperations(entries: OperationEntry[]): string {
  if (entries.length === 0) return 'No operations recorded yet.';
  return entries
    .map((e) => {
      const who = e.sudoUser ? `${e.sudoUser} (as ${e.user})` : e.user;
      const opts = Object.entries(e.options)
        .filter(([k]) => k !== 'json')
        .map(([k, v]) => (v === true ? `--${kebab(k)}` : v === false ? '' : `--${kebab(k)} ${v}`))
        .filter(Boolean);
      const result = e.exitCode === 0 ? 'ok' : `exit ${e.exitCode}${e.error ? `: ${e.error}` : ''}`;
      return `${e.at}  ${who.padEnd(10)} carebox ${[e.verb, ...e.args, ...opts].join(' ')}  → ${result} (${(e.durationMs / 1000).toFixed(1)} s)`;
    })
    .join('\n');
}

const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
