/**
 * Issue 5 on the real engine: backup → drop the data → restore, with row counts and a content
 * checksum equal before and after; file modes, sha256 in backup.json, retention, and refusals
 * (no TTY without --yes, a corrupt dump). One stack for the file.
 *
 * Issue 10 (items 2, 4, 5): the app logs in as the least-privilege role (SCRAM over the network, as
 * in production) and cannot tamper with the audit trail; backup.json is signed with the install's
 * backup.key; a flipped byte (exit 1), an edited manifest (exit 5) and a path outside backups/
 * (exit 2) are refused with nothing changed; "another install" is decided by install id.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as tar from 'tar';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { get, readText, requireE2ePrereqs } from './e2e.helpers.js';
import { cli, containersOf, installTestStack, patientsChecksum, seedPatients, sql, teardownTestStack, type TestStack } from './ops.helpers.js';
import { signManifest } from '../../console/ops/backup.manifest.sign.js';
import { demuxDockerLogs } from '../../installer/runtime/container.logs.js';

/** Rewrite a backup's backup.json with `edit` and sign it with the key in `keyFile` (what a backup of another install, made with its own key, looks like). */
function resign(dir: string, keyFile: string, edit: (m: any) => void): void {
  const bm = JSON.parse(readFileSync(join(dir, 'backup.json'), 'utf8'));
  edit(bm);
  const bytes = Buffer.from(`${JSON.stringify(bm, null, 2)}\n`);
  writeFileSync(join(dir, 'backup.json'), bytes);
  writeFileSync(join(dir, 'backup.json.sig'), signManifest(bytes, Buffer.from(readFileSync(keyFile, 'utf8').trim())));
}

/** psql in the db container over TCP (SCRAM, as the app connects) as `user` with `password`; exit code and output. */
async function psqlAs(docker: Docker, project: string, user: string, password: string, text: string): Promise<{ code: number; out: string }> {
  const [db] = await containersOf(docker, project, 'db');
  const exec = await docker.getContainer(db!.Id).exec({
    Cmd: ['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-U', user, '-d', 'carebox', '-c', text],
    Env: [`PGPASSWORD=${password}`],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((res, rej) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', res);
    stream.on('error', rej);
  });
  const info = await exec.inspect();
  return {
    code: info.ExitCode ?? -1,
    out: demuxDockerLogs(Buffer.concat(chunks))
      .frames.map((f) => f.text)
      .join(''),
  };
}

describe('e2e: backup and restore on the real engine', function () {
  this.timeout(900_000);
  let docker: Docker;
  let s: TestStack | null = null;
  let backupDir = '';
  let counts: Record<string, number> = {};
  let checksum = '';

  before(async () => {
    docker = await requireE2ePrereqs();
    s = await installTestStack('backup', 'default');
    await seedPatients(docker, s.project, 321);
  });
  after(async () => teardownTestStack(s));

  it('backup writes the dump, files and backup.json (sha256, row counts, versions) with private modes', async () => {
    checksum = await patientsChecksum(docker, s!.project);
    const r = await cli(s!, ['backup', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    backupDir = r.json.dir;
    expect(backupDir).to.match(/backups\/\d{8}T\d{6}Z$/);
    expect(statSync(backupDir).mode & 0o777).to.equal(0o700);
    // --json shows modes as octal strings, as ls and chmod do.
    expect(r.json.dump.mode).to.equal('0600');
    expect(r.json.files.find((f: any) => f.path === 'files/.env').mode).to.equal('0600');
    expect(statSync(join(backupDir, 'db.dump')).mode & 0o777).to.equal(0o600);
    expect(statSync(join(backupDir, 'files/.env')).mode & 0o777).to.equal(0o600);
    const bm = JSON.parse(readText(join(backupDir, 'backup.json')));
    expect(bm.tables['public.patients']).to.equal(321);
    expect(bm.tables['public.knex_migrations']).to.be.greaterThan(0);
    expect(bm.postgres.major).to.equal('15');
    expect(bm.images.server).to.match(/^carebox\/server:/);
    expect(bm.dump.sha256).to.equal(
      createHash('sha256')
        .update(readFileSync(join(backupDir, 'db.dump')))
        .digest('hex'),
    );
    for (const f of bm.files)
      expect(
        createHash('sha256')
          .update(readFileSync(join(backupDir, f.path)))
          .digest('hex'),
        f.path,
      ).to.equal(f.sha256);
    expect(bm.files.map((f: any) => f.path)).to.include.members(['files/compose.yml', 'files/.env', 'files/carebox.json', 'files/nginx/nginx.conf']);
    expect(readFileSync(join(backupDir, 'db.dump')).subarray(0, 5).toString()).to.equal('PGDMP');
    counts = bm.tables;
    expect(JSON.parse(readText(join(s!.root, 'carebox.json'))).backups).to.deep.include({ keep: 7 });
    // Signed with the install's key, which stays in the install root and never goes into a backup.
    expect(statSync(join(backupDir, 'backup.json.sig')).mode & 0o777).to.equal(0o600);
    expect(statSync(join(s!.root, 'backup.key')).mode & 0o777).to.equal(0o600);
    expect(readText(join(backupDir, 'backup.json.sig'))).to.equal(
      signManifest(readFileSync(join(backupDir, 'backup.json')), Buffer.from(readText(join(s!.root, 'backup.key')).trim())),
    );
    expect(bm.files.map((f: any) => f.path)).to.not.include('files/backup.key');
    // The install id: created by install, recorded by the backup.
    const installId = JSON.parse(readText(join(s!.root, 'carebox.json'))).installId;
    expect(installId).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(bm.installId).to.equal(installId);
  });

  it('the app logs in as carebox_app (SCRAM) and, as that role, cannot rewrite the audit trail or run DDL', async () => {
    const env = readText(join(s!.root, '.env'));
    const appPassword = /^POSTGRES_APP_PASSWORD=(.*)$/m.exec(env)![1]!;
    expect(/^POSTGRES_OWNER_PASSWORD=.{43}$/m.test(env)).to.equal(true);
    const sessions = await sql(
      docker,
      s!.project,
      "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'carebox' AND application_name LIKE 'carebox-%'",
    );
    expect(sessions.split('\n').filter(Boolean)).to.deep.equal(['carebox_app']);
    expect((await psqlAs(docker, s!.project, 'carebox_app', appPassword, 'SELECT count(*) FROM audit_events')).code).to.equal(0);
    expect((await psqlAs(docker, s!.project, 'carebox_app', 'wrong-password', 'SELECT 1')).code, 'a wrong password is refused').to.not.equal(0);
    const before = await sql(docker, s!.project, 'SELECT count(*) FROM audit_events');
    for (const attack of [
      'BEGIN; SET LOCAL session_replication_role = replica; DELETE FROM audit_events; COMMIT;',
      "UPDATE audit_events SET actor_username = 'x'",
      'DELETE FROM audit_events',
      'TRUNCATE audit_events',
      "COPY audit_events TO PROGRAM 'cat >/dev/null'",
      'ALTER TABLE audit_events DISABLE TRIGGER ALL',
      'CREATE TABLE evil (id int)',
      'CREATE TEMP TABLE evil (id int)',
    ]) {
      const r = await psqlAs(docker, s!.project, 'carebox_app', appPassword, attack);
      expect(r.code, attack).to.not.equal(0);
      expect(r.out, attack).to.match(/permission denied|must be owner|must be superuser/);
    }
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM audit_events')).to.equal(before);
  });

  it('restore on a live system says what it would lose, per table, and without a TTY or --yes exits 2 changing nothing', async () => {
    // Issue 9: writes since the backup are named before anything changes.
    await seedPatients(docker, s!.project, 7, 'AFTER');
    const before = await sql(docker, s!.project, 'SELECT count(*) FROM patients');
    const r = await cli(s!, ['restore', backupDir, '--json']);
    expect(r.code, r.stderr).to.equal(2);
    // The counts depend on what earlier tests wrote; at least the 7 rows seeded here are named as lost.
    const m = /public\.patients: (\d+) rows now, (\d+) in the backup; (\d+) written or changed since the backup: LOST/.exec(r.json.error.message);
    expect(m, r.json.error.message).to.not.equal(null);
    expect(m![1]).to.equal(before);
    expect(Number(m![3])).to.be.at.least(7);
    expect(r.json.error.message).to.match(/Lost: \d+ row\(s\)/);
    expect(r.json.error.hint).to.match(/--yes/);
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal(before);
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    await sql(docker, s!.project, "DELETE FROM patients WHERE mrn LIKE 'AFTER-%'");
  });

  it('drop the data, restore: row counts and checksum match the backup, the app serves again, the audit trail loses nothing', async () => {
    // An audit event written after the backup: the append-only trail must keep it through the restore.
    await sql(
      docker,
      s!.project,
      "INSERT INTO audit_events (actor_username, action, resource_type, outcome) VALUES ('e2e-after-backup', 'patient.read', 'patient', 'success')",
    );
    const maxIdBefore = Number(await sql(docker, s!.project, 'SELECT max(id) FROM audit_events'));
    await sql(docker, s!.project, 'TRUNCATE patients CASCADE');
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal('0');
    const r = await cli(s!, ['restore', backupDir.split('/').pop()!, '--yes', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.tables).to.deep.equal(counts);
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal('321');
    expect(await patientsChecksum(docker, s!.project)).to.equal(checksum);
    for (const [t, n] of Object.entries(counts)) {
      if (t === 'public.audit_events') continue; // checked below: the backup's events plus the ones carried over
      const [schema, table] = t.split('.');
      expect(Number(await sql(docker, s!.project, `SELECT count(*) FROM "${schema}"."${table}"`)), t).to.equal(n);
    }
    expect(r.json.audit.carried).to.be.at.least(1);
    const auditCount = Number(await sql(docker, s!.project, 'SELECT count(*) FROM audit_events'));
    expect(auditCount).to.equal((counts['public.audit_events'] ?? 0) + r.json.audit.carried + 1);
    expect(await sql(docker, s!.project, "SELECT count(*) FROM audit_events WHERE actor_username = 'e2e-after-backup'")).to.equal('1');
    const restoreEvent = await sql(docker, s!.project, "SELECT id || ' ' || resource_id FROM audit_events WHERE action = 'system.restore'");
    expect(restoreEvent).to.equal(`${r.json.audit.restoreEventId} ${backupDir.split('/').pop()}`);
    expect(r.json.audit.restoreEventId).to.be.greaterThan(maxIdBefore); // ids are never reused
    expect(await sql(docker, s!.project, "SELECT count(*) FROM pg_database WHERE datname LIKE 'carebox_pre_restore%'")).to.equal('0');
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.history.at(-1).action).to.equal('restore');
  });

  it("another install's backup (same project name, another install id, its own key) is refused without --from-other-install; with it, this install's audit trail is appended, not lost", async () => {
    const copy = join(s!.base, 'foreign');
    cpSync(backupDir, copy, { recursive: true });
    const otherKey = join(s!.base, 'other-install.key');
    writeFileSync(otherKey, `${'k'.repeat(43)}\n`, { mode: 0o600 });
    const bm0 = JSON.parse(readFileSync(join(copy, 'backup.json'), 'utf8'));
    expect(bm0.project, 'both installs carry the same project name').to.equal(s!.project);
    resign(copy, otherKey, (bm) => (bm.installId = '0badc0de-0000-4000-8000-000000000000'));
    const unsignedForUs = await cli(s!, ['restore', copy, '--from-path', '--yes', '--json']);
    expect(unsignedForUs.code, "signed with another install's key, checked with ours").to.equal(5);
    const refused = await cli(s!, ['restore', copy, '--from-path', '--backup-key', otherKey, '--yes', '--json']);
    expect(refused.code, refused.stderr).to.equal(2);
    expect(refused.json.error.message).to.match(/another install \(install id 0badc0de-0000-4000-8000-000000000000\)/);
    const before = Number(await sql(docker, s!.project, 'SELECT count(*) FROM audit_events'));
    const r = await cli(s!, ['restore', copy, '--from-path', '--backup-key', otherKey, '--yes', '--json', '--from-other-install']);
    expect(r.code, r.stderr).to.equal(0);
    const after = Number(await sql(docker, s!.project, 'SELECT count(*) FROM audit_events'));
    // The backup's events, then every event this install had (new ids), then the restore event.
    expect(after).to.equal((counts['public.audit_events'] ?? 0) + before + 1);
    expect(r.json.audit.carried).to.equal(before);
    expect(await sql(docker, s!.project, 'SELECT count(*) - count(DISTINCT id) FROM audit_events')).to.equal('0');
    expect(await sql(docker, s!.project, "SELECT count(*) FROM audit_events WHERE actor_username = 'e2e-after-backup'")).to.equal('1');
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal('321');
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.installId, 'a restore keeps this install its own id').to.equal(bm0.installId);
  });

  it("a backup of this install (same install id) under another project name is this install's: no flag needed", async () => {
    const name = '20991231T235959Z';
    const copy = join(s!.root, 'backups', name);
    cpSync(backupDir, copy, { recursive: true });
    resign(copy, join(s!.root, 'backup.key'), (bm) => (bm.project = 'renamed-elsewhere'));
    const r = await cli(s!, ['restore', name, '--yes', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.signed).to.equal(true);
    expect(
      await sql(docker, s!.project, "SELECT details->>'fromOtherInstall' FROM audit_events WHERE action = 'system.restore' ORDER BY id DESC LIMIT 1"),
    ).to.equal('false');
    rmSync(copy, { recursive: true, force: true });
  });

  /** What must not change when a restore is refused: the data, the audit trail, the databases, and the app serving. */
  async function unchanged(): Promise<() => Promise<void>> {
    const patients = await patientsChecksum(docker, s!.project);
    const audit = await sql(docker, s!.project, "SELECT count(*)::text || '/' || max(id)::text FROM audit_events");
    const dbs = await sql(docker, s!.project, "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");
    const [backend] = await containersOf(docker, s!.project, 'backend');
    return async () => {
      expect(await patientsChecksum(docker, s!.project)).to.equal(patients);
      expect(await sql(docker, s!.project, "SELECT count(*)::text || '/' || max(id)::text FROM audit_events")).to.equal(audit);
      expect(await sql(docker, s!.project, "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database")).to.equal(dbs);
      expect((await containersOf(docker, s!.project, 'backend'))[0]?.Id, 'the app was never stopped').to.equal(backend?.Id);
      // Readiness probes PostgreSQL and Redis with short timeouts: on a loaded CI host one probe may
      // time out, so allow a few (bounded) before calling the app unready.
      let ready = 0;
      for (let i = 0; i < 10 && ready !== 200; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 1000));
        ready = (await get(`${s!.url}/ready`)).status;
      }
      expect(ready).to.equal(200);
      expect(
        readdirSync(join(s!.root, 'backups')).filter((n) => n.startsWith('.restore-')),
        'no staged dump left',
      ).to.deep.equal([]);
    };
  }

  it('a flipped byte in the dump is refused with exit 1, nothing changed', async () => {
    const name = '20991231T235958Z';
    const copy = join(s!.root, 'backups', name);
    cpSync(backupDir, copy, { recursive: true });
    const dump = readFileSync(join(copy, 'db.dump'));
    dump[dump.length - 10] = dump[dump.length - 10]! ^ 0x01;
    writeFileSync(join(copy, 'db.dump'), dump);
    const check = await unchanged();
    const r = await cli(s!, ['restore', name, '--yes', '--json']);
    expect(r.code).to.equal(1);
    expect(r.json.error.message).to.match(/db\.dump does not match its sha256/);
    await check();
    rmSync(copy, { recursive: true, force: true });
  });

  it('an edited backup.json (its checksum made to match the changed dump) is refused with exit 5, nothing changed', async () => {
    const name = '20991231T235957Z';
    const copy = join(s!.root, 'backups', name);
    cpSync(backupDir, copy, { recursive: true });
    const dump = readFileSync(join(copy, 'db.dump'));
    dump[dump.length - 10] = dump[dump.length - 10]! ^ 0x01;
    writeFileSync(join(copy, 'db.dump'), dump);
    const bm = JSON.parse(readFileSync(join(copy, 'backup.json'), 'utf8'));
    bm.dump.sha256 = createHash('sha256').update(dump).digest('hex');
    writeFileSync(join(copy, 'backup.json'), JSON.stringify(bm, null, 2) + '\n');
    const check = await unchanged();
    const r = await cli(s!, ['restore', name, '--yes', '--json']);
    expect(r.code, r.stderr).to.equal(5);
    expect(r.json.error.code).to.equal('BACKUP_UNTRUSTED');
    expect(r.json.error.message).to.match(/signature/);
    await check();
    rmSync(copy, { recursive: true, force: true });
  });

  it('a path outside backups/ (absolute, .., or a symlink out) is refused with exit 2 unless --from-path, nothing changed', async () => {
    const outside = join(s!.base, 'outside');
    cpSync(backupDir, outside, { recursive: true });
    symlinkSync(outside, join(s!.root, 'backups', 'link-out'));
    const check = await unchanged();
    for (const arg of [outside, '../../outside', 'link-out']) {
      const r = await cli(s!, ['restore', arg, '--yes', '--json']);
      expect(r.code, `${arg}: ${r.stderr}`).to.equal(2);
      expect(r.json.error.message, arg).to.match(/outside this install's backups folder|must not contain '\.\.'/);
    }
    await check();
    rmSync(join(s!.root, 'backups', 'link-out'));
  });

  it('a pg_restore that fails (a truncated dump with a matching sha256, signed) exits 1 and the app serves the previous data again', async () => {
    const copy = join(s!.base, 'truncated');
    cpSync(backupDir, copy, { recursive: true });
    const dump = readFileSync(join(copy, 'db.dump'));
    writeFileSync(join(copy, 'db.dump'), dump.subarray(0, Math.floor(dump.length / 2)));
    resign(copy, join(s!.root, 'backup.key'), (bm) => {
      bm.dump.sha256 = createHash('sha256')
        .update(readFileSync(join(copy, 'db.dump')))
        .digest('hex');
      bm.dump.bytes = readFileSync(join(copy, 'db.dump')).length;
    });
    const r = await cli(s!, ['restore', copy, '--from-path', '--yes', '--json']);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.json.error.message).to.match(/pg_restore failed/);
    expect(r.json.error.hint).to.match(/serving the previous data again/);
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal('321');
    expect(await sql(docker, s!.project, "SELECT count(*) FROM pg_database WHERE datname LIKE 'carebox_pre_restore%'")).to.equal('0');
  });

  it('retention: --keep 2 keeps the two newest backups and is remembered', async () => {
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 1100)); // stamps have one-second resolution
      const r = await cli(s!, ['backup', '--keep', '2', '--json']);
      expect(r.code, r.stderr).to.equal(0);
    }
    await new Promise((r) => setTimeout(r, 1100));
    const r = await cli(s!, ['backup', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.keep).to.equal(2);
    const full = readdirSync(join(s!.root, 'backups')).filter((n) => /^\d{8}T\d{6}Z$/.test(n));
    expect(full).to.have.length(2);
    expect(full).to.not.include(backupDir.split('/').pop());
    expect(JSON.parse(readText(join(s!.root, 'carebox.json'))).backups.keep).to.equal(2);
  });

  it('support-bundle holds versions, configs, preflight, states and logs, and no secret or patient record', async () => {
    // A request that puts a patient's name in the URL (a search), so it reaches the logs.
    await fetch(`${s!.url}/health?family=Family17`).then((r) => r.text());
    // A record id in a request path reaches nginx's access log (and the backend's request log).
    const recordId = '7e57c0de-1717-4717-8717-171717171717';
    await fetch(`${s!.url}/api/v1/patients/${recordId}`).then((r) => r.text());
    // A unique violation: PostgreSQL's DETAIL names the key's value, its STATEMENT the row.
    await sql(
      docker,
      s!.project,
      "INSERT INTO patients (mrn, given_name, family_name, birth_date, sex) VALUES ('DUPMRN-4711', 'Dupgiven', 'Dupfamily', '1970-01-01', 'unknown')",
    );
    const dup = await sql(
      docker,
      s!.project,
      "INSERT INTO patients (mrn, given_name, family_name, birth_date, sex) VALUES ('DUPMRN-4711', 'Dupgiven', 'Dupfamily', '1970-01-01', 'unknown')",
    ).catch((e: Error) => e);
    expect(dup).to.be.instanceOf(Error);
    const out = join(s!.base, 'support.tar.gz');
    const r = await cli(s!, ['support-bundle', '--output', out, '--lines', '200', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(statSync(out).mode & 0o777).to.equal(0o600);
    // --output never overwrites a file, nor creates directories.
    const again = await cli(s!, ['support-bundle', '--output', out, '--json']);
    expect(again.code).to.equal(2);
    expect(again.json.error.message).to.match(/already exists/);
    const nowhere = await cli(s!, ['support-bundle', '--output', join(s!.base, 'no', 'such', 'dir', 'x.tar.gz'), '--json']);
    expect(nowhere.code).to.equal(2);
    expect(nowhere.json.error.message).to.match(/does not exist/);
    const dir = join(s!.base, 'support');
    mkdirSync(dir);
    await tar.x({ file: out, cwd: dir });
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : files.push(join(d, e.name));
    };
    walk(dir);
    const rel = files.map((f) => f.slice(dir.length + 1));
    expect(rel).to.include.members([
      'carebox-support/versions.json',
      'carebox-support/carebox.json',
      'carebox-support/preflight.json',
      'carebox-support/containers.json',
      'carebox-support/config/compose.yml',
      'carebox-support/config/env.redacted',
      'carebox-support/config/nginx/nginx.conf',
      'carebox-support/logs/backend-1.log',
      'carebox-support/logs/db-1.log',
      'carebox-support/logs/nginx-1.log',
      'carebox-support/operations.log',
    ]);
    const all = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    // No secret value from .env, anywhere (the equivalent of untar + grep for each).
    const env = readText(join(s!.root, '.env'));
    const secrets = [...env.matchAll(/^([A-Z_]+)=(.+)$/gm)].filter(([, k]) => k !== 'COMPOSE_PROJECT_NAME').map(([, k, v]) => [k!, v!]);
    expect(secrets.length).to.be.at.least(2);
    for (const [k, v] of secrets) expect(all.includes(v!), `${k} leaked into the support bundle`).to.equal(false);
    // No patient record: names and MRNs seeded in this file never appear.
    expect(all).to.not.match(/E2E-\d+|Family17|Given17\b|DUPMRN|Dupfamily|Dupgiven/);
    // Record ids in paths are replaced by a keyed hash, in nginx's access log too.
    expect(all).to.not.include(recordId);
    expect(readFileSync(join(dir, 'carebox-support/logs/nginx-1.log'), 'utf8')).to.match(/\/api\/v1\/patients\/id:[0-9a-f]{12}/);
    expect(r.json.redactionsBy.recordIds).to.be.at.least(1);
    expect(all, 'the duplicate-key error itself is in the db log').to.match(/duplicate key value violates unique constraint/);
    expect(readFileSync(join(dir, 'carebox-support/config/env.redacted'), 'utf8')).to.match(/POSTGRES_PASSWORD=\[redacted\]/);
    const states = JSON.parse(readFileSync(join(dir, 'carebox-support/containers.json'), 'utf8'));
    expect(states.map((c: any) => c.service)).to.include.members(['db', 'redis', 'backend', 'worker', 'nginx']);
    expect(JSON.stringify(states)).to.not.match(/"Env"|requirepass/);
    const versions = JSON.parse(readFileSync(join(dir, 'carebox-support/versions.json'), 'utf8'));
    expect(versions.docker.engine).to.be.a('string');
    expect(versions.compose.version).to.be.a('string');
  });
});
