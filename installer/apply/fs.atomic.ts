import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Write a file atomically: write a temp file in the same directory, fsync it, set its mode, then
 * rename over the target (rename is atomic on one filesystem), then fsync the directory.
 * A crash leaves either the old or the new file, never half of one.
 * @param mode file mode, e.g. 0o600 for secrets (default 0o644).
 * @throws NodeJS.ErrnoException on I/O errors (EACCES, ENOSPC); the temp file is removed.
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await fs.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.writeFile(content, 'utf8');
    await fh.chmod(mode);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Read a file as UTF-8, or null when it does not exist. */
export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** UTC timestamp usable as a directory name: `20261129T081530Z`. */
export function utcStamp(date: Date = new Date()): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * Check an output file given on the command line (`--output FILE`) before any work starts: its
 * directory must already exist (a typo must not create directories elsewhere) and the file must not
 * (an earlier bundle is never overwritten silently).
 * @throws UsageError (exit 2) naming the problem.
 */
export async function checkNewOutputFile(path: string): Promise<void> {
  const dir = dirname(path);
  const st = await fs.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new UsageError(`--output ${path}: the directory ${dir} does not exist`, 'create it first, or choose another --output');
  if (
    await fs.stat(path).then(
      () => true,
      () => false,
    )
  )
    throw new UsageError(`--output ${path} already exists`, 'choose another --output, or move the existing file away first');
}
