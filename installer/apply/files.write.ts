import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { readIfExists, writeFileAtomic } from './fs.atomic.js';
import type { RenderedFile } from '../render/render.js';
import { giveTlsKeyToNginx } from './edge.tls.js';

/** What happened to one file. */
export interface FileChange {
  path: string;
  status: 'created' | 'updated' | 'unchanged';
  /** Where the previous version was copied, for `updated`. */
  backup: string | null;
}

/**
 * Write rendered files under `root`: unchanged files are left alone (their mtime too), changed
 * ones are first copied to `backups/config-<stamp>/<path>` (mode kept), then replaced atomically.
 * A secret readable by everyone (a Compose secret for an image whose user is not known) is kept
 * from the host's other users by its directory, made 0700; previous versions of secrets are kept 0600.
 * The edge's TLS key, new or kept, is given to nginx's uid (giveTlsKeyToNginx).
 * @param stamp UTC stamp naming the backup folder (utcStamp()).
 * @throws NodeJS.ErrnoException on I/O errors; files already written stay written.
 */
export async function writeRenderedFiles(root: string, files: RenderedFile[], stamp: string): Promise<FileChange[]> {
  const changes: FileChange[] = [];
  for (const f of files) {
    const target = join(root, f.path);
    if (f.secret && (f.mode & 0o004) !== 0 && dirname(f.path) !== '.') {
      await fs.mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await fs.chmod(dirname(target), 0o700);
    }
    const current = await readIfExists(target);
    if (current === f.content) {
      const st = await fs.stat(target);
      if ((st.mode & 0o777) !== f.mode) await fs.chmod(target, f.mode);
      changes.push({ path: f.path, status: 'unchanged', backup: null });
      continue;
    }
    let backup: string | null = null;
    if (current !== null) {
      backup = join('backups', `config-${stamp}`, f.path);
      const st = await fs.stat(target);
      await writeFileAtomic(join(root, backup), current, f.secret ? 0o600 : st.mode & 0o777);
    }
    await writeFileAtomic(target, f.content, f.mode);
    changes.push({ path: f.path, status: current === null ? 'created' : 'updated', backup });
  }
  await giveTlsKeyToNginx(root);
  return changes;
}

/** The current on-disk content of each rendered file's path (null when missing). */
export async function currentContents(root: string, files: { path: string }[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const f of files) out.set(f.path, await readIfExists(join(root, f.path)));
  return out;
}

/**
 * Put back the files a failed change overwrote: each of `files` whose previous content (from
 * {@link currentContents}, taken before the write) differs is written again, atomically, with its
 * mode. A file that did not exist before is left (the restored compose.yml no longer uses it).
 * @param keep paths that stay as written (upgrade keeps the new .env: it holds the same secrets plus
 *   the roles' passwords that its rollback needs).
 * @throws the filesystem error of a write that fails.
 */
export async function putBackFiles(
  root: string,
  previous: ReadonlyMap<string, string | null>,
  files: readonly RenderedFile[],
  keep: readonly string[] = [],
): Promise<void> {
  for (const f of files) {
    if (keep.includes(f.path)) continue;
    const old = previous.get(f.path);
    if (old !== null && old !== undefined && old !== f.content) await writeFileAtomic(join(root, f.path), old, f.mode);
  }
}
