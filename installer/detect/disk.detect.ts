/**
 * Free disk space at a path that may not exist yet (the install root before install): the
 * nearest existing ancestor is measured, since that is the filesystem the files will land on.
 */
import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DiskFact } from './host-facts.js';
import { withTimeout } from './timeout.js';

/** Errors that mean "this path is not there (for us); try its parent". */
const WALK_UP = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM']);

/**
 * Measures the filesystem holding `path` with statfs(2).
 *
 * @param path absolute or relative path (resolved against the cwd); need not exist.
 * @param timeoutMs bound for each statfs (a hung NFS mount must not stall detection); default 3000.
 * @returns free bytes for unprivileged writers (f_bavail × f_bsize) and total bytes, with the
 *   ancestor actually measured; null when no ancestor could be measured. Never throws.
 */
export async function detectDisk(path: string, timeoutMs = 3000): Promise<DiskFact | null> {
  const wanted = resolve(path);
  let current = wanted;
  for (;;) {
    try {
      const s = await withTimeout(statfs(current), timeoutMs, `statfs(${current})`);
      return {
        path: wanted,
        measuredPath: current,
        freeBytes: Number(s.bavail) * Number(s.bsize),
        totalBytes: Number(s.blocks) * Number(s.bsize),
        source: current === wanted ? `statfs(${current})` : `statfs(${current}), nearest existing ancestor`,
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const parent = dirname(current);
      if (!WALK_UP.has(code) || parent === current) return null;
      current = parent;
    }
  }
}
