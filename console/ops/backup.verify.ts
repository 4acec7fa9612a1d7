/**
 * What `carebox restore` trusts, and how it makes sure:
 *
 *  1. Where: DIR is a backup under the install root's `backups/` (a stamp, a path below it, or an
 *     absolute path inside it). `..` is refused, and so is anything whose real path (symlinks
 *     resolved) leaves `backups/`. Only `--from-path` accepts a directory elsewhere.
 *  2. Who: backup.json must carry a valid signature (backup.manifest.sign.ts) under the install's
 *     backup key, or the key given with `--backup-key` (another install's backup). The signature is
 *     checked on the very bytes that are then parsed.
 *  3. What: the dump restore loads is always `db.dump` (a manifest naming another path is refused),
 *     and it is copied into a private staging file while its sha256 is computed; pg_restore reads
 *     that copy, so the bytes restored are exactly the bytes checked, whatever happens to the backup
 *     directory meanwhile. Files are opened without following symlinks.
 *
 * Every refusal happens before anything in the stack changes.
 */
import { constants, createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { OperationError, UntrustedBackupError, UsageError } from '../../installer/errors.js';
import { INSTALL_FILES } from '../../installer/paths.js';
import { INSTALL_ID_RE } from '../../installer/manifest/install.id.js';
import { manifestSignatureValid, SIGNATURE_FILE } from './backup.manifest.sign.js';

const MANIFEST_FILE = 'backup.json';
const DUMP = 'db.dump';
/** backup.json is small (row counts, checksums); anything larger is not one. */
const MANIFEST_MAX_BYTES = 16 * 1024 * 1024;

const entry = z.object({
  path: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  mode: z.number().int().nonnegative(),
});
/** backup.json as restore reads it: only the fields it relies on are checked, the rest passes through. */
export const backupManifestSchema = z
  .object({
    schemaVersion: z.literal(1),
    kind: z.literal('carebox-backup'),
    stamp: z.string().regex(/^\d{8}T\d{6}Z$/),
    installId: z.string().regex(INSTALL_ID_RE).optional(),
    project: z.string(),
    tier: z.string(),
    postgres: z.object({ version: z.string(), versionNum: z.number().int(), major: z.string(), database: z.string() }).passthrough(),
    dump: entry.extend({ path: z.literal(DUMP) }),
    tables: z.record(z.string(), z.number().int().nonnegative()),
    files: z.array(
      entry.extend({
        path: z
          .string()
          .regex(/^files\/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9._-]+$/)
          .refine((p) => !p.split('/').includes('..'), 'no ..'),
      }),
    ),
  })
  .passthrough();

async function exists(path: string): Promise<boolean> {
  return fs.lstat(path).then(
    () => true,
    () => false,
  );
}

function inside(child: string, parent: string): boolean {
  return child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/**
 * Resolve `restore DIR` to the real path of a backup directory.
 * @param opts.fromPath accept a directory outside `backups/` (relative to `opts.cwd`)
 * @throws UsageError (exit 2) for `..`, a path (or symlink) leading out of `backups/` without
 *   fromPath, or a directory without backup.json.
 */
export async function resolveBackupDir(root: string, dirArg: string, opts: { fromPath?: boolean; cwd?: string } = {}): Promise<string> {
  const cwd = opts.cwd ?? process.cwd();
  const backups = join(root, INSTALL_FILES.backups);
  const listHint = `backups of this install are under ${backups}; give a stamp from there, or --from-path DIR for a backup copied elsewhere`;
  let dir: string;
  if (opts.fromPath) {
    dir = resolve(cwd, dirArg);
    if (!(await exists(dir))) throw new UsageError(`${dir} does not exist`);
  } else {
    if (dirArg.split(/[\\/]+/).includes('..')) throw new UsageError(`restore DIR must not contain '..': ${dirArg}`, listHint);
    const candidates = isAbsolute(dirArg) ? [dirArg] : [join(backups, dirArg), resolve(cwd, dirArg)];
    const found = [];
    for (const c of candidates) if (await exists(c)) found.push(c);
    if (found.length === 0) throw new UsageError(`${dirArg} is not a Carebox backup (no such directory)`, listHint);
    const realBackups = await fs.realpath(backups).catch(() => null);
    const within = [];
    for (const c of found) {
      const real = await fs.realpath(c).catch(() => null);
      if (real && realBackups && inside(real, realBackups)) within.push(real);
    }
    if (within.length === 0) {
      throw new UsageError(
        `${dirArg} is outside this install's backups folder (${backups}), or a symlink leading out of it`,
        'restore a backup from somewhere else only with --from-path DIR, and only one you trust',
      );
    }
    dir = within[0]!;
  }
  dir = await fs.realpath(dir);
  if (!(await fs.stat(dir)).isDirectory() || !(await exists(join(dir, MANIFEST_FILE)))) {
    throw new UsageError(`${dirArg} is not a Carebox backup (no ${MANIFEST_FILE})`, listHint);
  }
  return dir;
}

/**
 * Read a file of a backup without following a symlink.
 * @throws UsageError for a symlink; OperationError for another read error (ENOENT keeps its code in `cause`).
 */
async function readNoFollow(path: string, maxBytes: number): Promise<Buffer> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UsageError(`${path} is a symlink; a backup holds plain files only`);
    throw new OperationError(`cannot read ${path} (${code ?? (err as Error).message})`, null, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > maxBytes) throw new UsageError(`${path} is not a Carebox backup file`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** backup.json after its signature and shape were checked. */
export type VerifiedManifest = z.infer<typeof backupManifestSchema>;

/**
 * Check backup.json's signature on its exact bytes, parse those bytes, and check every file of
 * `files/` against its sha256. The dump is checked by {@link stageDump}.
 * @param key the backup key (readBackupKey); null only when there is none and unsigned backups are allowed
 * @param opts.allowUnsigned accept a backup without backup.json.sig (made before backups were
 *   signed); a signature that is present must still verify
 * @throws UntrustedBackupError (exit 5) for a missing or wrong signature; UsageError (exit 2) for a
 *   manifest that is not a Carebox backup; OperationError (exit 1) for a missing or corrupt file.
 */
export async function verifyBackupManifest(
  dir: string,
  key: Buffer | null,
  opts: { allowUnsigned?: boolean } = {},
): Promise<{ manifest: VerifiedManifest; signed: boolean }> {
  const bytes = await readNoFollow(join(dir, MANIFEST_FILE), MANIFEST_MAX_BYTES);
  const sig = await readNoFollow(join(dir, SIGNATURE_FILE), 4096).catch((err: unknown) => {
    if (err instanceof OperationError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return null;
    throw err;
  });
  if (sig === null && !opts.allowUnsigned) {
    throw new UntrustedBackupError(
      `backup ${dir} is not signed (no ${SIGNATURE_FILE})`,
      'a backup made before Carebox signed its backups: check where it came from, then rerun with --allow-unsigned',
    );
  }
  if (sig !== null && (key === null || !manifestSignatureValid(bytes, sig.toString('utf8'), key))) {
    throw new UntrustedBackupError(
      `backup ${dir}: the signature of ${MANIFEST_FILE} does not verify: it was changed after the backup, or signed with another install's key`,
      "use another backup; for a backup of another install give that install's backup.key with --backup-key FILE",
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new UsageError(`${join(dir, MANIFEST_FILE)} is not JSON: ${(err as Error).message}`);
  }
  const parsed = backupManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new UsageError(
      `${dir} is not a Carebox backup: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  }
  for (const f of parsed.data.files) {
    const got = await readNoFollow(join(dir, f.path), Number.MAX_SAFE_INTEGER).then(
      (b) => createHash('sha256').update(b).digest('hex'),
      () => null,
    );
    if (got !== f.sha256)
      throw new OperationError(
        `backup ${parsed.data.stamp}: ${f.path} ${got ? 'does not match its sha256 (corrupt)' : 'is missing'}`,
        'use another backup (`ls backups/`)',
      );
  }
  return { manifest: parsed.data, signed: sig !== null };
}

/**
 * Copy the backup's `db.dump` into `stagingDir` (a private directory of the caller) while hashing
 * it, and check the copy's sha256 and size against the verified manifest. pg_restore then reads the
 * copy: exactly the bytes that were checked.
 * @returns the staged file's path.
 * @throws OperationError (exit 1) when the dump is missing, a symlink, or does not match (the copy is removed).
 */
export async function stageDump(dir: string, dump: VerifiedManifest['dump'], stagingDir: string): Promise<string> {
  const staged = join(stagingDir, DUMP);
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(join(dir, DUMP), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new OperationError(
      `backup ${dir}: ${DUMP} is ${(err as NodeJS.ErrnoException).code === 'ELOOP' ? 'a symlink' : 'missing'}`,
      'use another backup (`ls backups/`)',
    );
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream('', { fd: fh, autoClose: false }), tap, createWriteStream(staged, { flags: 'wx', mode: 0o600 }));
  } finally {
    await fh.close();
  }
  const got = hash.digest('hex');
  if (got !== dump.sha256 || bytes !== dump.bytes) {
    await fs.rm(staged, { force: true });
    throw new OperationError(`backup ${dir}: ${DUMP} does not match its sha256 in ${MANIFEST_FILE} (corrupt)`, 'use another backup (`ls backups/`)');
  }
  return staged;
}
