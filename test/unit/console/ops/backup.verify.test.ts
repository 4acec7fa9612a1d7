/**
 * Restore's trust checks on a real filesystem (temp directories): where a backup may come from, its
 * signature, and the dump's bytes. No mocks.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKUP_KEY_FILE, ensureBackupKey, readBackupKey } from '../../../../installer/apply/backup.key.js';
import { ExitCode, OperationError, UntrustedBackupError, UsageError } from '../../../../installer/errors.js';
import { installIdFor, INSTALL_ID_RE } from '../../../../installer/manifest/install.id.js';
import { backupOrigin } from '../../../../console/ops/backup.ops.js';
import { manifestSignatureValid, signManifest, SIGNATURE_FILE } from '../../../../console/ops/backup.manifest.sign.js';
import { resolveBackupDir, stageDump, verifyBackupManifest } from '../../../../console/ops/backup.verify.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const ID_A = '11111111-2222-4333-8444-555555555555';
const ID_B = '99999999-2222-4333-8444-555555555555';

describe('backup trust: signature, location, dump bytes, install id', () => {
  let root = '';
  let key: Buffer;
  let dir = '';
  const dump = Buffer.from('PGDMP fake custom-format dump bytes '.repeat(100));

  function writeBackup(d: string, k: Buffer, edit: (m: Record<string, any>) => void = () => undefined): void {
    mkdirSync(join(d, 'files'), { recursive: true });
    writeFileSync(join(d, 'db.dump'), dump);
    writeFileSync(join(d, 'files', '.env'), 'A=b\n');
    const m: Record<string, any> = {
      schemaVersion: 1,
      kind: 'carebox-backup',
      createdAt: '2026-12-07T10:00:00.000Z',
      stamp: '20261207T100000Z',
      carebox: { version: '0.1.0' },
      installId: ID_A,
      project: 'carebox',
      tier: 'default',
      images: {},
      postgres: { version: '15.10', versionNum: 150010, major: '15', database: 'carebox' },
      dump: { path: 'db.dump', sha256: sha(dump), bytes: dump.length, mode: 0o600 },
      tables: { 'public.patients': 3 },
      files: [{ path: 'files/.env', sha256: sha('A=b\n'), bytes: 4, mode: 0o600 }],
    };
    edit(m);
    const bytes = Buffer.from(`${JSON.stringify(m, null, 2)}\n`);
    writeFileSync(join(d, 'backup.json'), bytes);
    writeFileSync(join(d, SIGNATURE_FILE), signManifest(bytes, k));
  }

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'carebox-verify-'));
    mkdirSync(join(root, 'backups'));
    expect(await ensureBackupKey(root)).to.equal(true);
    expect(await ensureBackupKey(root), 'an existing key is never replaced').to.equal(false);
    key = await readBackupKey(join(root, BACKUP_KEY_FILE));
    dir = join(root, 'backups', '20261207T100000Z');
    writeBackup(dir, key);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('the backup key is 0600 and refused when others can read it', async () => {
    expect(statSync(join(root, BACKUP_KEY_FILE)).mode & 0o777).to.equal(0o600);
    const loose = join(root, 'loose.key');
    writeFileSync(loose, readFileSync(join(root, BACKUP_KEY_FILE)), { mode: 0o644 });
    await readBackupKey(loose).then(
      () => expect.fail('accepted'),
      (e) => expect(e).to.be.instanceOf(UsageError),
    );
  });

  it('a valid backup verifies; the signature covers the exact bytes', async () => {
    const r = await verifyBackupManifest(dir, key);
    expect(r.signed).to.equal(true);
    expect(r.manifest.installId).to.equal(ID_A);
    const bytes = readFileSync(join(dir, 'backup.json'));
    expect(manifestSignatureValid(bytes, signManifest(bytes, key), key)).to.equal(true);
    expect(manifestSignatureValid(Buffer.concat([bytes, Buffer.from(' ')]), signManifest(bytes, key), key)).to.equal(false);
    expect(manifestSignatureValid(bytes, 'hmac-sha256:zz', key)).to.equal(false);
  });

  it('an edited manifest (even a re-computed sha256) is refused as untrusted, exit 5', async () => {
    const m = JSON.parse(readFileSync(join(dir, 'backup.json'), 'utf8'));
    m.installId = ID_B;
    writeFileSync(join(dir, 'backup.json'), JSON.stringify(m, null, 2) + '\n');
    const err = await verifyBackupManifest(dir, key).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UntrustedBackupError);
    expect((err as UntrustedBackupError).exitCode).to.equal(ExitCode.UntrustedBackup);
    expect(ExitCode.UntrustedBackup).to.equal(5);
  });

  it("another install's key does not verify; an unsigned backup needs allowUnsigned", async () => {
    const other = Buffer.from('x'.repeat(43));
    await verifyBackupManifest(dir, other).then(
      () => expect.fail('accepted'),
      (e) => expect(e).to.be.instanceOf(UntrustedBackupError),
    );
    rmSync(join(dir, SIGNATURE_FILE));
    await verifyBackupManifest(dir, key).then(
      () => expect.fail('accepted'),
      (e) => expect((e as Error).message).to.match(/not signed/),
    );
    expect((await verifyBackupManifest(dir, key, { allowUnsigned: true })).signed).to.equal(false);
  });

  it('a manifest naming another dump path, or a file path with .., is refused even when signed', async () => {
    writeBackup(dir, key, (m) => (m.dump.path = '../../etc/passwd'));
    await verifyBackupManifest(dir, key).then(
      () => expect.fail('accepted'),
      (e) => expect(e).to.be.instanceOf(UsageError),
    );
    writeBackup(dir, key, (m) => (m.files[0].path = 'files/../../x'));
    await verifyBackupManifest(dir, key).then(
      () => expect.fail('accepted'),
      (e) => expect(e).to.be.instanceOf(UsageError),
    );
  });

  it('a flipped byte in the dump is caught while it is staged (exit 1), and no staged copy is left', async () => {
    const { manifest } = await verifyBackupManifest(dir, key);
    const staging = mkdtempSync(join(root, 'backups', '.restore-'));
    const staged = await stageDump(dir, manifest.dump, staging);
    expect(readFileSync(staged)).to.deep.equal(dump);
    expect(statSync(staged).mode & 0o777).to.equal(0o600);
    rmSync(staged);
    const flipped = Buffer.from(dump);
    flipped[10] = flipped[10]! ^ 0x01;
    writeFileSync(join(dir, 'db.dump'), flipped);
    const err = await stageDump(dir, manifest.dump, staging).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(OperationError);
    expect((err as OperationError).exitCode).to.equal(1);
    expect((err as Error).message).to.match(/sha256/);
    expect(() => statSync(join(staging, 'db.dump'))).to.throw();
  });

  it('a symlinked dump is refused', async () => {
    const { manifest } = await verifyBackupManifest(dir, key);
    writeFileSync(join(root, 'elsewhere.dump'), dump);
    rmSync(join(dir, 'db.dump'));
    symlinkSync(join(root, 'elsewhere.dump'), join(dir, 'db.dump'));
    const staging = mkdtempSync(join(root, 'backups', '.restore-'));
    await stageDump(dir, manifest.dump, staging).then(
      () => expect.fail('accepted'),
      (e) => expect((e as Error).message).to.match(/symlink/),
    );
  });

  it('DIR resolves inside backups/ only: stamp, absolute path inside; .., outside paths and symlinks out are usage errors (exit 2)', async () => {
    expect(await resolveBackupDir(root, '20261207T100000Z')).to.equal(dir);
    expect(await resolveBackupDir(root, dir)).to.equal(dir);
    expect(await resolveBackupDir(root, 'backups/20261207T100000Z', { cwd: root })).to.equal(dir);
    const outside = join(root, 'outside');
    writeBackup(outside, key);
    for (const arg of [outside, '../outside', '20261207T100000Z/../../outside']) {
      const err = await resolveBackupDir(root, arg, { cwd: root }).catch((e: unknown) => e);
      expect(err, arg).to.be.instanceOf(UsageError);
      expect((err as UsageError).exitCode, arg).to.equal(2);
    }
    symlinkSync(outside, join(root, 'backups', 'link-out'));
    await resolveBackupDir(root, 'link-out').then(
      () => expect.fail('accepted'),
      (e) => expect((e as Error).message).to.match(/outside|symlink/),
    );
    expect(await resolveBackupDir(root, outside, { fromPath: true })).to.equal(outside);
    expect(await resolveBackupDir(root, 'outside', { fromPath: true, cwd: root })).to.equal(outside);
    await resolveBackupDir(root, 'nope').then(
      () => expect.fail('accepted'),
      (e) => expect(e).to.be.instanceOf(UsageError),
    );
  });

  it('another install is decided by install id, not project name, in both directions', () => {
    // Same project name, other id: another install.
    expect(() => backupOrigin({ installId: ID_B, stamp: 's' }, ID_A, {})).to.throw(UsageError, /another install/);
    expect(backupOrigin({ installId: ID_B, stamp: 's' }, ID_A, { fromOtherInstall: true })).to.equal('other');
    // Same id (whatever the project is called): this install.
    expect(backupOrigin({ installId: ID_A, stamp: 's' }, ID_A, {})).to.equal('same');
    expect(() => backupOrigin({ installId: ID_A, stamp: 's' }, ID_A, { fromOtherInstall: true })).to.throw(UsageError, /of this install/);
    // No id (an old backup): the operator says which.
    expect(() => backupOrigin({ stamp: 's' }, ID_A, {})).to.throw(UsageError, /no install id/);
    expect(backupOrigin({ stamp: 's' }, ID_A, { sameInstall: true })).to.equal('same');
    expect(backupOrigin({ stamp: 's' }, ID_A, { fromOtherInstall: true })).to.equal('other');
  });

  it('the install id is created once and kept', () => {
    const id = installIdFor(null);
    expect(id).to.match(INSTALL_ID_RE);
    expect(installIdFor({ installId: id })).to.equal(id);
    expect(installIdFor({})).to.match(INSTALL_ID_RE);
    expect(installIdFor(null)).to.not.equal(id);
  });
});
