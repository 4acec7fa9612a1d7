/**
 * Issue 5 on the real engine: backup → drop the data → restore, with row counts and a content
 * checksum equal before and after; file modes, sha256 in backup.json, retention, and refusals
 * (no TTY without --yes, a corrupt dump). One stack for the file.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { get, readText, requireE2ePrereqs } from './e2e.helpers.js';
import { cli, installTestStack, patientsChecksum, seedPatients, sql, teardownTestStack, type TestStack } from './ops.helpers.js';

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
    expect(statSync(join(backupDir, 'db.dump')).mode & 0o777).to.equal(0o600);
    expect(statSync(join(backupDir, 'files/.env')).mode & 0o777).to.equal(0o600);
    const bm = JSON.parse(readText(join(backupDir, 'backup.json')));
    expect(bm.tables['public.patients']).to.equal(321);
    expect(bm.tables['public.knex_migrations']).to.be.greaterThan(0);
    expect(bm.postgres.major).to.equal('15');
    expect(bm.images.server).to.match(/^carebox\/server:/);
    expect(bm.dump.sha256).to.equal(createHash('sha256').update(readFileSync(join(backupDir, 'db.dump'))).digest('hex'));
    for (const f of bm.files) expect(createHash('sha256').update(readFileSync(join(backupDir, f.path))).digest('hex'), f.path).to.equal(f.sha256);
    expect(bm.files.map((f: any) => f.path)).to.include.members(['files/compose.yml', 'files/.env', 'files/carebox.json', 'files/nginx/nginx.conf']);
    expect(readFileSync(join(backupDir, 'db.dump')).subarray(0, 5).toString()).to.equal('PGDMP');
    counts = bm.tables;
    expect(JSON.parse(readText(join(s!.root, 'carebox.json'))).backups).to.deep.include({ keep: 7 });
  });

  it('restore without a TTY and without --yes exits 2', async () => {
    const r = await cli(s!, ['restore', backupDir]);
    expect(r.code).to.equal(2);
  });

  it('drop the data, restore: row counts and checksum match the backup, the app serves again', async () => {
    await sql(docker, s!.project, 'TRUNCATE patients CASCADE');
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal('0');
    const r = await cli(s!, ['restore', backupDir.split('/').pop()!, '--yes', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.tables).to.deep.equal(counts);
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal('321');
    expect(await patientsChecksum(docker, s!.project)).to.equal(checksum);
    for (const [t, n] of Object.entries(counts)) {
      const [schema, table] = t.split('.');
      expect(Number(await sql(docker, s!.project, `SELECT count(*) FROM "${schema}"."${table}"`)), t).to.equal(n);
    }
    expect(await sql(docker, s!.project, "SELECT count(*) FROM pg_database WHERE datname LIKE 'carebox_pre_restore%'")).to.equal('0');
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.history.at(-1).action).to.equal('restore');
  });

  it('refuses a corrupt backup (sha256) and leaves the data alone', async () => {
    const copy = join(s!.base, 'corrupt');
    cpSync(backupDir, copy, { recursive: true });
    const dump = readFileSync(join(copy, 'db.dump'));
    dump[dump.length - 10] = dump[dump.length - 10]! ^ 0xff;
    writeFileSync(join(copy, 'db.dump'), dump);
    const r = await cli(s!, ['restore', copy, '--yes', '--json']);
    expect(r.code).to.equal(1);
    expect(r.json.error.message).to.match(/sha256/);
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal('321');
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
});
