/**
 * Off-host copies with restic: the repositories kept in carebox.json (`backups.offsite`), how each
 * is reached from a short-lived restic container, and the retention restic applies. Pure.
 *
 * Repositories (restic's own URL forms, restricted to what Carebox tests):
 *  - a local path (`/mnt/usb/carebox`, a USB disk or an NFS mount): bind-mounted at the same path;
 *  - SFTP (`sftp://user@host[:port]/absolute/path`): reached with OpenSSH and a key file the admin
 *    provides (`--ssh-key FILE`, mode 0600); the server's host key is pinned on first use in
 *    `<root>/restic/known_hosts` (StrictHostKeyChecking=accept-new).
 * The repository password is one secret for every repository (`<root>/secrets/restic-password`).
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../errors.js';

/** One restic repository in carebox.json. */
export const offsiteRepoSchema = z.object({
  /** Short name used in metrics labels and CLI (`usb`, `dr-site`). */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/),
  /** A local absolute path or `sftp://user@host[:port]/absolute/path`. */
  url: z.string().min(2).max(512),
  /** SFTP only: absolute path of the private key file on the host (mode 0600). */
  sshKey: z.string().nullable().default(null),
});
export type OffsiteRepo = z.infer<typeof offsiteRepoSchema>;

/** How a repository is reached: restic's `-r` argument, bind mounts, extra restic options. */
export interface RepoAccess {
  kind: 'local' | 'sftp';
  /** Value of `restic -r`. */
  repository: string;
  /** Host paths the restic container needs at the same path (local repository). */
  sameBinds: string[];
  /** SFTP: user, host, port. */
  sftp: { user: string; host: string; port: number; path: string } | null;
}

/**
 * Parse a repository URL. Pure.
 * @throws UsageError for a relative path, an unsupported scheme, or an SFTP URL without user or path.
 */
export function repoAccess(url: string): RepoAccess {
  if (url.startsWith('sftp://')) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new UsageError(`repository ${url}: not a URL`, 'use sftp://user@host[:port]/absolute/path');
    }
    const path = decodeURIComponent(u.pathname);
    if (!u.username || !u.hostname || path.length < 2) throw new UsageError(`repository ${url}: needs a user, a host and a path`, 'use sftp://user@host[:port]/absolute/path');
    const port = u.port ? Number(u.port) : 22;
    return { kind: 'sftp', repository: `sftp:${u.username}@${u.hostname}:${path}`, sameBinds: [], sftp: { user: decodeURIComponent(u.username), host: u.hostname, port, path } };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) throw new UsageError(`repository ${url}: only a local path and sftp:// are supported`, 'S3 and REST-server repositories are not tested by Carebox yet');
  if (!isAbsolute(url)) throw new UsageError(`repository ${url}: a local repository must be an absolute path`);
  return { kind: 'local', repository: url, sameBinds: [url], sftp: null };
}

/**
 * The command restic uses to reach an SFTP repository (restic's `-o sftp.command=…`): OpenSSH in
 * batch mode with the given key, the pinned host keys, and the port. Pure.
 */
export function sftpCommand(s: NonNullable<RepoAccess['sftp']>, keyPath: string, knownHostsPath: string): string {
  return ['ssh', '-i', keyPath, '-p', String(s.port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${knownHostsPath}`, '-o', 'ConnectTimeout=20', `${s.user}@${s.host}`, '-s', 'sftp'].join(' ');
}

/**
 * Retention of restic snapshots (GFS): the newest snapshot of each of the last 7 days, 4 weeks and
 * 12 months. restic computes which snapshots that keeps (`restic forget`), not Carebox.
 */
export const DEFAULT_RETENTION = { daily: 7, weekly: 4, monthly: 12 } as const;
export type Retention = { daily: number; weekly: number; monthly: number };

/** Tag every Carebox snapshot carries, so `forget` never touches other snapshots in a shared repository. */
export const SNAPSHOT_TAG = 'carebox';

/** `restic forget` arguments for a retention policy, pruning unreferenced data. Pure. */
export function forgetArgs(r: Retention = DEFAULT_RETENTION): string[] {
  for (const [k, v] of Object.entries(r)) if (!Number.isInteger(v) || v < 1) throw new UsageError(`retention ${k}=${v}: must be a whole number ≥ 1`);
  return ['forget', '--tag', SNAPSHOT_TAG, '--keep-daily', String(r.daily), '--keep-weekly', String(r.weekly), '--keep-monthly', String(r.monthly), '--prune'];
}
