/**
 * The backup signing key: 32 random bytes (base64url) in `<install root>/backup.key`, mode 0600,
 * created on the first install (or the first backup of an older install) and kept forever, like
 * .env. `carebox backup` signs backup.json with it (HMAC-SHA256) and `carebox restore` refuses a
 * backup whose signature does not verify. It is never copied into a backup: a copy kept off the
 * host (README, "Backups") is what verifies this install's backups on a new server.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OperationError, UsageError } from '../errors.js';
import { newSecret } from './secrets.store.js';

/** File name of the key in the install root. */
export const BACKUP_KEY_FILE = 'backup.key';

const KEY_RE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Create `<root>/backup.key` (0600, exclusive create: an existing key is never replaced) unless it
 * exists. @returns true when this call created it.
 * @throws OperationError on I/O errors other than "exists".
 */
export async function ensureBackupKey(root: string): Promise<boolean> {
  try {
    const fh = await open(join(root, BACKUP_KEY_FILE), 'wx', 0o600);
    try {
      await fh.writeFile(`${newSecret()}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new OperationError(
      `cannot create ${join(root, BACKUP_KEY_FILE)}: ${(err as Error).message}`,
      'check that the install root is writable by the user running carebox',
    );
  }
}

/**
 * Read a backup key file (the install's own, or a copy given with `restore --backup-key FILE`).
 * @returns the key bytes (the 43-character text itself is the HMAC key).
 * @throws UsageError when the file is missing, group/world-readable, or not a Carebox key.
 */
export async function readBackupKey(path: string): Promise<Buffer> {
  const st = await stat(path).catch(() => null);
  if (!st)
    throw new UsageError(
      `backup key ${path} does not exist`,
      "the install creates backup.key in its root; for another install's backups pass its key with --backup-key FILE",
    );
  if ((st.mode & 0o077) !== 0) throw new UsageError(`backup key ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)})`, `chmod 600 ${path}`);
  const text = (await readFile(path, 'utf8')).trim();
  if (!KEY_RE.test(text)) throw new UsageError(`${path} is not a Carebox backup key`);
  return Buffer.from(text, 'utf8');
}
