/**
 * Issues 5 and 9 on the real engine, one stack for the file:
 * - `carebox maintenance` through nginx: writes (or everything with --full) answered with a JSON
 *   503 + Retry-After + message, reads served, kept across an install re-run, shown by status;
 * - issue 9's field case: upgrade to a server image whose (additive) migration adds a table with a
 *   foreign key to patients and whose web processes then fail, under authenticated writes (one
 *   every 0.2 s) and reads through nginx: it rolls back the code only, every patient the API
 *   answered 201 for exists afterwards, and no read fails;
 * - a contract migration is refused without --maintenance-window (exit 2); with it, writes get
 *   503 + Retry-After for the whole window and the failure restores the backup, losing no 201;
 * - a good image upgrades under authenticated reads and writes with no failed request;
 * - a PostgreSQL major change is refused (exit 3) unless --pg-major-dump-restore, which moves the
 *   data by dump and restore (and puts it back when the new image fails).
 *
 * Test images are built FROM the server image the install built (one-line Dockerfiles):
 * - broken: its web and worker processes exit 1, while its migrate command works and adds an
 *   additive probe migration (a table with a foreign key to patients);
 * - contract: the same, but its migration adds a unique index to patients (a contract step);
 * - good: the same image with a label (a new image id, so every app container is replaced);
 * - pg16: the postgres stand-in whose `postgres --version` says 16. Its server is still 15: a test
 *   double for the major-version check, and the target of the dump-and-restore move (the only
 *   PostgreSQL on this offline machine is Debian 12's 15);
 * - pg16broken: that image with an entrypoint that exits 1, so the move must put the data back.
 */
import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { exec } from '../../installer/apply/exec.js';
import { freePort, get, readText, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';
import {
  apiCall,
  cli,
  containersOf,
  installTestStack,
  missingPatients,
  patientsChecksum,
  seedPatients,
  signInAdmin,
  sql,
  startApiTraffic,
  startLoad,
  teardownTestStack,
  type ApiTrafficReport,
  type TestStack,
} from './ops.helpers.js';

/**
 * Wait until `carebox status` says healthy (at most 3 min): an upgrade's preflight needs a healthy
 * stack, and on a loaded shared host a healthcheck can time out now and then.
 */
async function waitHealthy(s: TestStack): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const r = await cli(s, ['status', '--no-usage', '--json']);
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`stack not healthy: ${r.stdout.slice(0, 500)}`);
    await new Promise((res) => setTimeout(res, 3000));
  }
}

/** Every write either got 201 (and is counted in `created`) or a 503 with Retry-After; no socket error, no other status. */
function expectNoLostOrFailedWrite(report: ApiTrafficReport): void {
  expect(report.failedWrites, JSON.stringify(report.writes)).to.equal(0);
  expect(report.refusedWithoutRetryAfter).to.equal(0);
}

async function build(dir: string, tag: string, dockerfile: string, files: Record<string, string> = {}): Promise<void> {
  await writeFile(join(dir, 'Dockerfile'), dockerfile);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  await exec(['docker', 'build', '-q', '-t', tag, dir], { timeoutMs: 300_000 });
}

describe('e2e: upgrade with backup and rollback on the real engine', function () {
  this.timeout(900_000);
  let docker: Docker;
  let s: TestStack | null = null;
  let work = '';
  const id = randomBytes(4).toString('hex');
  const tags = {
    broken: `carebox-e2e/server:broken-${id}`,
    contract: `carebox-e2e/server:contract-${id}`,
    good: `carebox-e2e/server:good-${id}`,
    pg16: `carebox-e2e/postgres:16-${id}`,
    pg16broken: `carebox-e2e/postgres:16-broken-${id}`,
  };
  let server = '';
  let token = '';
  let known = '';

  before(async () => {
    docker = await requireE2ePrereqs();
    s = await installTestStack('upgrade', 'default');
    await seedPatients(docker, s.project, 250);
    server = JSON.parse(readText(join(s.root, 'carebox.json'))).images.server;
    work = await mkdtemp(join(tmpdir(), 'carebox-upgrade-images-'));
    const index = (await exec(['docker', 'run', '--rm', '--entrypoint', 'cat', server, '/app/dist/server/src/db/migrations/index.js'])).stdout;
    // The field case: an additive migration that adds a table with a foreign key to patients.
    const probe = `\n// carebox e2e probe migration\nMIGRATIONS.push({ name: '29991231000000_upgrade_probe', migration: { up: async (knex) => { await knex.schema.createTable('upgrade_probe', (t) => { t.uuid('id').primary(); t.uuid('patient_id').notNullable().references('id').inTable('patients').onDelete('CASCADE'); t.text('note'); }); }, down: async (knex) => { await knex.schema.dropTableIfExists('upgrade_probe'); } } });\n`;
    // A contract step: a unique index on a table the running version writes.
    const contract = `\n// carebox e2e contract migration\nMIGRATIONS.push({ name: '29991231000001_contract_probe', migration: { up: async (knex) => { await knex.raw('create unique index contract_probe_mrn_lower on patients (lower(mrn))'); }, down: async (knex) => { await knex.raw('drop index if exists contract_probe_mrn_lower'); } } });\n`;
    const brokenEntrypoint = `ENTRYPOINT ["/bin/sh", "-c", "case \\"$*\\" in *main.js*|*worker.js*) echo 'carebox e2e: deliberately broken build' >&2; exit 1;; esac; exec \\"$@\\"", "carebox-entrypoint"]\n`;
    await build(join(work), tags.broken, `FROM ${server}\nCOPY index.js /app/dist/server/src/db/migrations/index.js\n${brokenEntrypoint}`, {
      'index.js': index + probe,
    });
    await build(join(work), tags.contract, `FROM ${server}\nCOPY index.js /app/dist/server/src/db/migrations/index.js\n${brokenEntrypoint}`, {
      'index.js': index + contract,
    });
    await build(work, tags.good, `FROM ${server}\nLABEL com.carebox.e2e=good-${id}\n`);
    const pg = JSON.parse(readText(STANDINS)).postgres;
    await build(
      work,
      tags.pg16,
      `FROM ${pg}\nRUN mkdir -p /fake && printf '#!/bin/sh\\necho "postgres (PostgreSQL) 16.4"\\n' > /fake/postgres && chmod 755 /fake/postgres\nENV PATH=/fake:$PATH\n`,
    );
    await build(work, tags.pg16broken, `FROM ${tags.pg16}\nENTRYPOINT ["/bin/sh", "-c", "echo 'carebox e2e: deliberately broken postgres' >&2; exit 1"]\n`);
    token = await signInAdmin(s);
    const p = await apiCall(s.url, 'POST', '/patients', token, {
      mrn: 'UP-KNOWN-1',
      givenName: 'Grace',
      familyName: 'Hopper',
      birthDate: '1906-12-09',
      sex: 'female',
    });
    expect(p.status, JSON.stringify(p.body)).to.equal(201);
    known = p.body.id;
  });

  after(async () => {
    await teardownTestStack(s);
    for (const t of Object.values(tags))
      await docker
        .getImage(t)
        .remove({ force: true })
        .catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('maintenance on: writes get a JSON 503 + Retry-After + message through nginx, reads are served; kept across an install re-run; --full; off', async () => {
    try {
      await maintenanceWalk();
    } finally {
      await cli(s!, ['maintenance', 'off']);
    }
  });

  async function maintenanceWalk(): Promise<void> {
    const bad = await cli(s!, ['maintenance', 'on', '--message', 'costs $5', '--json']);
    expect(bad.code, bad.stderr).to.equal(2);
    expect((await cli(s!, ['maintenance', 'sideways', '--json'])).code).to.equal(2);
    const on = await cli(s!, ['maintenance', 'on', '--message', 'Upgrade until 14:30; reading works', '--retry-after', '45', '--json']);
    expect(on.code, on.stderr).to.equal(0);
    expect(on.json.maintenance).to.include({ mode: 'writes', by: 'cli', retryAfterS: 45 });
    const write = await apiCall(s!.url, 'POST', '/patients', token, {
      mrn: 'UP-M-1',
      givenName: 'A',
      familyName: 'B',
      birthDate: '1990-01-01',
      sex: 'unknown',
    });
    expect(write.status).to.equal(503);
    expect(write.headers.get('retry-after')).to.equal('45');
    expect(write.headers.get('content-type')).to.match(/application\/json/);
    expect(write.body).to.deep.equal({ error: { code: 'MAINTENANCE', message: 'Upgrade until 14:30; reading works', retryAfterSeconds: 45, scope: 'writes' } });
    expect((await apiCall(s!.url, 'GET', `/patients/${known}`, token)).status).to.equal(200);
    const status = await cli(s!, ['status', '--json', '--no-usage']);
    expect(status.json.maintenance).to.include({ mode: 'writes', message: 'Upgrade until 14:30; reading works' });
    // A re-run of install renders nginx.conf again and reloads; maintenance stays on.
    const rerun = await cli(s!, ['install', '--yes', '--json', '--images', s!.images]);
    expect(rerun.code, rerun.stderr.slice(-2000)).to.equal(0);
    expect(
      (await apiCall(s!.url, 'POST', '/patients', token, { mrn: 'UP-M-2', givenName: 'A', familyName: 'B', birthDate: '1990-01-01', sex: 'unknown' })).status,
    ).to.equal(503);
    // And a restart of nginx (it reads the include again at start).
    expect((await cli(s!, ['restart', 'nginx', '--json'])).code).to.equal(0);
    expect(
      (await apiCall(s!.url, 'POST', '/patients', token, { mrn: 'UP-M-2', givenName: 'A', familyName: 'B', birthDate: '1990-01-01', sex: 'unknown' })).status,
    ).to.equal(503);
    const full = await cli(s!, ['maintenance', 'on', '--full', '--json']);
    expect(full.code, full.stderr).to.equal(0);
    const read = await apiCall(s!.url, 'GET', `/patients/${known}`, token);
    expect(read.status).to.equal(503);
    expect(read.body.error.scope).to.equal('full');
    expect(read.headers.get('retry-after')).to.equal('30');
    expect((await get(`${s!.url}/nginx-health`)).status).to.equal(200);
    const off = await cli(s!, ['maintenance', 'off', '--json']);
    expect(off.code, off.stderr).to.equal(0);
    expect(off.json.maintenance).to.equal(null);
    const after = await apiCall(s!.url, 'POST', '/patients', token, {
      mrn: 'UP-M-3',
      givenName: 'A',
      familyName: 'B',
      birthDate: '1990-01-01',
      sex: 'unknown',
    });
    expect(after.status, JSON.stringify(after.body)).to.equal(201);
    expect((await cli(s!, ['status', '--json', '--no-usage'])).json.maintenance).to.equal(null);
  }

  it('the field case: a failing upgrade whose additive migration adds a table with a FK to patients, under authenticated writes: every 201 exists afterwards, no read fails', async () => {
    const checksumBefore = await patientsChecksum(docker, s!.project);
    const migrations = Number(await sql(docker, s!.project, 'SELECT count(*) FROM knex_migrations'));
    // keep 1: a retention that ran at the start of the upgrade would remove this backup.
    const backupsBefore = await cli(s!, ['backup', '--keep', '1', '--json']);
    expect(backupsBefore.code, backupsBefore.stderr).to.equal(0);
    const file = join(work, 'broken.json');
    await writeFile(file, JSON.stringify({ server: tags.broken }));
    const traffic = startApiTraffic(s!.url, token, { readPatientId: known, writeEveryMs: 200, tag: 'broken' });
    await new Promise((res) => setTimeout(res, 1000));
    await waitHealthy(s!);
    const r = await cli(s!, ['upgrade', '--images', file, '--json', '--timeout', '120']);
    await new Promise((res) => setTimeout(res, 1000));
    const report = await traffic.stop();
    process.stderr.write(`      traffic: ${report.created.length} created; writes ${JSON.stringify(report.writes)}; reads ${JSON.stringify(report.reads)}\n`);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.json.error.message).to.match(/rolled back to the previous images/);
    expect(r.json.error.message, r.stderr.slice(-3000)).to.match(/1 additive migration\(s\) stay/);
    expect(r.json.error.message).to.not.match(/database restored from backup/);
    expect(r.stderr).to.match(/deliberately broken build/);
    expect(r.stderr).to.match(/29991231000000_upgrade_probe \(expand\)/);
    // Every patient the API acknowledged is there; no read failed; no write failed or was lost.
    expect(report.created.length, JSON.stringify(report)).to.be.greaterThan(20);
    expect(await missingPatients(docker, s!.project, report.created)).to.deep.equal([]);
    expect(report.failedReads, JSON.stringify(report.reads)).to.equal(0);
    expectNoLostOrFailedWrite(report);
    // The expanded schema stays (the old version runs on it), nothing older changed.
    expect(
      await sql(docker, s!.project, "SELECT confrelid::regclass::text FROM pg_constraint WHERE conrelid = 'upgrade_probe'::regclass AND contype = 'f'"),
    ).to.equal('patients');
    expect(Number(await sql(docker, s!.project, 'SELECT count(*) FROM knex_migrations'))).to.equal(migrations + 1);
    expect(
      await sql(
        docker,
        s!.project,
        "SELECT md5(coalesce(string_agg(mrn || '|' || given_name || '|' || family_name || '|' || birth_date::text, ',' ORDER BY mrn), '')) FROM patients WHERE mrn NOT LIKE 'TR-%'",
      ),
    ).to.equal(checksumBefore);
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    for (const svc of ['backend', 'worker']) for (const c of await containersOf(docker, s!.project, svc)) expect(c.Image, svc).to.equal(server);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.images.server).to.equal(server);
    expect(readText(join(s!.root, 'compose.yml'))).to.not.include(tags.broken);
    expect(existsSync(join(s!.root, 'nginx/maintenance.conf'))).to.equal(false);
    // Retention only after success: the failed upgrade pruned nothing.
    const stamps = readdirSync(join(s!.root, 'backups')).filter((n) => /^\d{8}T\d{6}Z$/.test(n));
    expect(stamps).to.include(backupsBefore.json.dir.split('/').pop());
    expect(stamps.length, stamps.join(', ')).to.equal(2);
    // The old version keeps running its own migrate on the schema a newer version expanded.
    const again = await cli(s!, ['install', '--yes', '--json', '--images', s!.images]);
    expect(again.code, again.stderr.slice(-2000)).to.equal(0);
  });

  it('a contract migration is refused without --maintenance-window (exit 2), before anything changes', async () => {
    const file = join(work, 'contract.json');
    await writeFile(file, JSON.stringify({ server: tags.contract }));
    const compose = readText(join(s!.root, 'compose.yml'));
    await waitHealthy(s!);
    const r = await cli(s!, ['upgrade', '--images', file, '--json', '--timeout', '120']);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.json.error.message).to.match(/contract migration.*29991231000001_contract_probe.*unique index on patients/);
    expect(r.json.error.hint).to.match(/--maintenance-window/);
    expect(readText(join(s!.root, 'compose.yml'))).to.equal(compose);
    expect(await sql(docker, s!.project, "SELECT count(*) FROM knex_migrations WHERE name = '29991231000001_contract_probe'")).to.equal('0');
  });

  it('with --maintenance-window a failing contract upgrade pauses writes (503 + Retry-After), restores the backup, and loses no 201', async () => {
    const file = join(work, 'contract.json');
    await writeFile(file, JSON.stringify({ server: tags.contract }));
    const traffic = startApiTraffic(s!.url, token, { readPatientId: known, writeEveryMs: 200, tag: 'contract' });
    await new Promise((res) => setTimeout(res, 1000));
    await waitHealthy(s!);
    const r = await cli(s!, ['upgrade', '--images', file, '--maintenance-window', '--json', '--timeout', '300']);
    await new Promise((res) => setTimeout(res, 1000));
    const report = await traffic.stop();
    process.stderr.write(`      traffic: ${report.created.length} created; writes ${JSON.stringify(report.writes)}; reads ${JSON.stringify(report.reads)}\n`);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.json.error.message).to.match(/database restored from backup .* taken while writes were paused/);
    expect(report.writes['503'] ?? 0, JSON.stringify(report.writes)).to.be.greaterThan(0);
    // No 2xx is lost, and every answer is a 201 or a 503 with Retry-After. nginx reloads three times
    // here (writes paused, widened to everything for the restore, back); a request sent on a
    // keep-alive connection just as an old worker closes it gets a connection reset, not an answer:
    // nothing was acknowledged, and the client can retry. Those are counted, and must stay rare.
    expect(await missingPatients(docker, s!.project, report.created)).to.deep.equal([]);
    expect(report.refusedWithoutRetryAfter).to.equal(0);
    expect(
      Object.keys(report.writes).filter((k) => k !== '201' && k !== '503' && k !== 'error'),
      JSON.stringify(report.writes),
    ).to.deep.equal([]);
    expect(report.writes.error ?? 0, JSON.stringify(report.writes)).to.be.at.most(3);
    // Reads are served except while the restore swaps the database (maintenance 503 then, with Retry-After).
    expect(
      Object.keys(report.reads).filter((k) => k !== '200' && k !== '503' && k !== 'error'),
      JSON.stringify(report.reads),
    ).to.deep.equal([]);
    expect(report.reads.error ?? 0, JSON.stringify(report.reads)).to.be.at.most(6);
    expect(report.reads['200'] ?? 0).to.be.greaterThan(0);
    expect(await sql(docker, s!.project, "SELECT coalesce(to_regclass('public.contract_probe_mrn_lower')::text, 'none')")).to.equal('none');
    expect(existsSync(join(s!.root, 'nginx/maintenance.conf'))).to.equal(false);
    expect(
      (await apiCall(s!.url, 'POST', '/patients', token, { mrn: 'UP-C-after', givenName: 'A', familyName: 'B', birthDate: '1990-01-01', sex: 'unknown' }))
        .status,
    ).to.equal(201);
  });

  it('a PostgreSQL major change is refused with exit 3 and nothing changes', async () => {
    const file = join(work, 'pg16.json');
    await writeFile(file, JSON.stringify({ postgres: tags.pg16 }));
    const before = readText(join(s!.root, 'compose.yml'));
    await waitHealthy(s!);
    const r = await cli(s!, ['upgrade', '--images', file, '--json']);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.json.error.message).to.match(/PostgreSQL 16, the database runs 15/);
    expect(readText(join(s!.root, 'compose.yml'))).to.equal(before);
  });

  it('an nginx image older than 1.27.3 (no `resolve` in upstream) is refused with exit 1 and the fix; nothing changes', async function () {
    // Debian 12's nginx 1.22 is a real older nginx (test/images/build-standins.sh builds it as this tag).
    const old = 'carebox-standin/nginx:1.22';
    const have = await exec(['docker', 'image', 'inspect', old], { allowFailure: true });
    if (have.code !== 0) this.skip();
    const file = join(work, 'nginx-old.json');
    // Every other image as installed (the stand-ins: this machine reaches no registry).
    await writeFile(file, JSON.stringify({ ...JSON.parse(readText(s!.images)), nginx: old }));
    const files = ['compose.yml', 'nginx/nginx.conf', 'carebox.json'].map((f) => readText(join(s!.root, f)));
    const r = await cli(s!, ['upgrade', '--images', file, '--json']);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.json.error.code).to.equal('OPERATION_FAILED');
    expect(r.json.error.message).to.match(/nginx image carebox-standin\/nginx:1\.22 has nginx 1\.22\.\d+; Carebox's edge needs nginx ≥ 1\.27\.3/);
    expect(r.json.error.hint).to.match(/nginx image ≥ 1\.27\.3/);
    expect(['compose.yml', 'nginx/nginx.conf', 'carebox.json'].map((f) => readText(join(s!.root, f)))).to.deep.equal(files);
    // The same image at install time is a preflight failure (exit 3), before anything is written.
    const root = join(work, 'old-nginx-root');
    const i = await cli({ ...s!, root }, ['install', '--yes', '--json', '--http-port', String(await freePort()), '--bind', '127.0.0.1', '--images', file]);
    expect(i.code, i.stderr).to.equal(3);
    expect(i.json.error.code).to.equal('PREFLIGHT_FAILED');
    expect(i.json.error.message).to.match(/has nginx 1\.22\.\d+; Carebox's edge needs nginx ≥ 1\.27\.3/);
    expect(existsSync(join(root, 'compose.yml'))).to.equal(false);
  });

  it('upgrading to a good image replaces every app container, gated on health, with no failed request under authenticated reads and writes', async () => {
    const file = join(work, 'good.json');
    await writeFile(file, JSON.stringify({ server: tags.good }));
    const traffic = startApiTraffic(s!.url, token, { readPatientId: known, writeEveryMs: 200, tag: 'good' });
    await new Promise((res) => setTimeout(res, 1000));
    await waitHealthy(s!);
    // The default health wait (300 s): on a loaded shared host a healthy image can take minutes.
    const r = await cli(s!, ['upgrade', '--images', file, '--json']);
    await new Promise((res) => setTimeout(res, 1000));
    const report = await traffic.stop();
    process.stderr.write(`      traffic: ${report.created.length} created; writes ${JSON.stringify(report.writes)}; reads ${JSON.stringify(report.reads)}\n`);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.to.server).to.equal(tags.good);
    expect(report.created.length).to.be.greaterThan(20);
    // No nginx reload (nginx.conf is unchanged), so no client keep-alive connection is reset.
    expect(report.failedReads, JSON.stringify(report.reads)).to.equal(0);
    expect(report.failedWrites, JSON.stringify(report.writes)).to.equal(0);
    expect(Object.keys(report.writes), 'no write refused either').to.deep.equal(['201']);
    expect(await missingPatients(docker, s!.project, report.created)).to.deep.equal([]);
    for (const svc of ['backend', 'worker']) for (const c of await containersOf(docker, s!.project, svc)) expect(c.Image, svc).to.equal(tags.good);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.images.server).to.equal(tags.good);
    expect(m.history.at(-1).action).to.equal('upgrade');
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    // Retention ran after success (keep 1 from the earlier `backup --keep 1`).
    expect(r.json.pruned.length, JSON.stringify(r.json.pruned)).to.be.greaterThan(0);
    expect(readdirSync(join(s!.root, 'backups')).filter((n) => /^\d{8}T\d{6}Z$/.test(n))).to.deep.equal([r.json.backup.split('/').pop()]);
  });

  it('--pg-major-dump-restore moves the data to the "16" image by dump and restore, keeping the old data directory', async () => {
    const checksum = await patientsChecksum(docker, s!.project);
    const count = await sql(docker, s!.project, 'SELECT count(*) FROM patients');
    const file = join(work, 'pg16.json');
    await writeFile(file, JSON.stringify({ postgres: tags.pg16 }));
    await waitHealthy(s!);
    const r = await cli(s!, ['upgrade', '--images', file, '--pg-major-dump-restore', '--json', '--timeout', '120']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.preservedVolume).to.match(new RegExp(`^${s!.project}_db-data-pg15-`));
    const vol = await docker.getVolume(r.json.preservedVolume).inspect();
    expect(vol.Labels['com.docker.compose.project']).to.equal(s!.project);
    const [db] = await containersOf(docker, s!.project, 'db');
    expect(db!.Image).to.equal(tags.pg16);
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal(count);
    expect(await patientsChecksum(docker, s!.project)).to.equal(checksum);
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.images.postgres).to.equal(tags.pg16);
    expect(m.history.at(-1).summary).to.match(/PostgreSQL 15 → 16 by dump and restore/);
  });

  it('a move to a postgres image that does not start puts the previous data directory back', async () => {
    const checksum = await patientsChecksum(docker, s!.project);
    const count = await sql(docker, s!.project, 'SELECT count(*) FROM patients');
    const file = join(work, 'pg16broken.json');
    await writeFile(file, JSON.stringify({ postgres: tags.pg16broken }));
    await waitHealthy(s!);
    const r = await cli(s!, ['upgrade', '--images', file, '--pg-major-dump-restore', '--json', '--timeout', '60']);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.json.error.message).to.match(/rolled back: PostgreSQL 15 serves the previous data again/); // the "16" image runs a 15 server;
    const [db] = await containersOf(docker, s!.project, 'db');
    expect(db!.Image).to.equal(tags.pg16);
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal(count);
    expect(await patientsChecksum(docker, s!.project)).to.equal(checksum);
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    expect(JSON.parse(readText(join(s!.root, 'carebox.json'))).images.postgres).to.equal(tags.pg16);
  });
});
