/**
 * Issue 5 on the real engine: upgrade to a deliberately broken server image rolls back to a
 * serving stack with the data intact; a good image upgrades with a rolling restart and no failed
 * request; a PostgreSQL major change is refused (exit 3) unless --pg-major-dump-restore, which moves
 * the data by dump and restore (and puts it back when the new image fails). One stack for the file.
 *
 * Test images are built FROM the server image the install built (one-line Dockerfiles):
 * - broken: its web and worker processes exit 1, while its migrate command works and adds a
 *   probe migration (a table), so the rollback must also restore the backup;
 * - good: the same image with a label (a new image id, so every app container is replaced);
 * - pg16: the postgres stand-in whose `postgres --version` says 16. Its server is still 15: a test
 *   double for the major-version check, and the target of the dump-and-restore move (the only
 *   PostgreSQL on this offline machine is Debian 12's 15);
 * - pg16broken: that image with an entrypoint that exits 1, so the move must put the data back.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { exec } from '../../installer/apply/exec.js';
import { freePort, get, readText, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';
import { cli, containersOf, installTestStack, patientsChecksum, seedPatients, sql, startLoad, teardownTestStack, type TestStack } from './ops.helpers.js';

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
  const tags = { broken: `carebox-e2e/server:broken-${id}`, good: `carebox-e2e/server:good-${id}`, pg16: `carebox-e2e/postgres:16-${id}`, pg16broken: `carebox-e2e/postgres:16-broken-${id}` };
  let server = '';

  before(async () => {
    docker = await requireE2ePrereqs();
    s = await installTestStack('upgrade', 'default');
    await seedPatients(docker, s.project, 250);
    server = JSON.parse(readText(join(s.root, 'carebox.json'))).images.server;
    work = await mkdtemp(join(tmpdir(), 'carebox-upgrade-images-'));
    const index = (await exec(['docker', 'run', '--rm', '--entrypoint', 'cat', server, '/app/dist/server/src/db/migrations/index.js'])).stdout;
    const probe = `\n// carebox e2e probe migration\nMIGRATIONS.push({ name: '29991231000000_upgrade_probe', migration: { up: async (knex) => { await knex.schema.createTable('upgrade_probe', (t) => { t.integer('id'); }); }, down: async (knex) => { await knex.schema.dropTableIfExists('upgrade_probe'); } } });\n`;
    await build(
      join(work),
      tags.broken,
      `FROM ${server}\nCOPY index.js /app/dist/server/src/db/migrations/index.js\nENTRYPOINT ["/bin/sh", "-c", "case \\"$*\\" in *main.js*|*worker.js*) echo 'carebox e2e: deliberately broken build' >&2; exit 1;; esac; exec \\"$@\\"", "carebox-entrypoint"]\n`,
      { 'index.js': index + probe },
    );
    await build(work, tags.good, `FROM ${server}\nLABEL com.carebox.e2e=good-${id}\n`);
    const pg = JSON.parse(readText(STANDINS)).postgres;
    await build(work, tags.pg16, `FROM ${pg}\nRUN mkdir -p /fake && printf '#!/bin/sh\\necho "postgres (PostgreSQL) 16.4"\\n' > /fake/postgres && chmod 755 /fake/postgres\nENV PATH=/fake:$PATH\n`);
    await build(work, tags.pg16broken, `FROM ${tags.pg16}\nENTRYPOINT ["/bin/sh", "-c", "echo 'carebox e2e: deliberately broken postgres' >&2; exit 1"]\n`);
  });

  after(async () => {
    await teardownTestStack(s);
    for (const t of Object.values(tags)) await docker.getImage(t).remove({ force: true }).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('upgrading to a broken server image rolls back to a serving stack with the data intact', async () => {
    const counts = await sql(docker, s!.project, 'SELECT count(*) FROM patients');
    const checksum = await patientsChecksum(docker, s!.project);
    const migrations = await sql(docker, s!.project, 'SELECT count(*) FROM knex_migrations');
    const file = join(work, 'broken.json');
    await writeFile(file, JSON.stringify({ server: tags.broken }));
    const r = await cli(s!, ['upgrade', '--images', file, '--json', '--timeout', '120']);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.json.error.message).to.match(/rolled back to the previous images/);
    expect(r.json.error.message).to.match(/database restored from backup .* because migrations had run/);
    expect(r.stderr).to.match(/deliberately broken build/);
    // Data intact, the probe migration undone, serving on the old image.
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal(counts);
    expect(await patientsChecksum(docker, s!.project)).to.equal(checksum);
    expect(await sql(docker, s!.project, "SELECT coalesce(to_regclass('public.upgrade_probe')::text, 'none')")).to.equal('none');
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM knex_migrations')).to.equal(migrations);
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    for (const svc of ['backend', 'worker']) for (const c of await containersOf(docker, s!.project, svc)) expect(c.Image, svc).to.equal(server);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.images.server).to.equal(server);
    expect(readText(join(s!.root, 'compose.yml'))).to.not.include(tags.broken);
  });

  it('a PostgreSQL major change is refused with exit 3 and nothing changes', async () => {
    const file = join(work, 'pg16.json');
    await writeFile(file, JSON.stringify({ postgres: tags.pg16 }));
    const before = readText(join(s!.root, 'compose.yml'));
    const r = await cli(s!, ['upgrade', '--images', file, '--json']);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.json.error.message).to.match(/PostgreSQL 16, the database runs 15/);
    expect(readText(join(s!.root, 'compose.yml'))).to.equal(before);
  });

  it('an nginx image older than 1.27.3 (no `resolve` in upstream) is refused with exit 1 and the fix; nothing changes', async function () {
    // The previous stand-in (Debian 12's nginx 1.22) is a real older nginx; built here when absent.
    const old = 'carebox-standin/nginx:1.22';
    const have = await exec(['docker', 'image', 'inspect', old], { allowFailure: true });
    if (have.code !== 0) this.skip();
    const file = join(work, 'nginx-old.json');
    await writeFile(file, JSON.stringify({ nginx: old }));
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

  it('upgrading to a good image replaces every app container, gated on health, with no failed request', async () => {
    const file = join(work, 'good.json');
    await writeFile(file, JSON.stringify({ server: tags.good }));
    const load = startLoad(s!.url, '/health');
    await new Promise((res) => setTimeout(res, 1000));
    const r = await cli(s!, ['upgrade', '--images', file, '--json', '--timeout', '120']);
    const report = await load.stop();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.to.server).to.equal(tags.good);
    expect(report.failed, JSON.stringify(report)).to.equal(0);
    for (const svc of ['backend', 'worker']) for (const c of await containersOf(docker, s!.project, svc)) expect(c.Image, svc).to.equal(tags.good);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.images.server).to.equal(tags.good);
    expect(m.history.at(-1).action).to.equal('upgrade');
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal('250');
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
  });

  it('--pg-major-dump-restore moves the data to the "16" image by dump and restore, keeping the old data directory', async () => {
    const checksum = await patientsChecksum(docker, s!.project);
    const file = join(work, 'pg16.json');
    await writeFile(file, JSON.stringify({ postgres: tags.pg16 }));
    const r = await cli(s!, ['upgrade', '--images', file, '--pg-major-dump-restore', '--json', '--timeout', '120']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.preservedVolume).to.match(new RegExp(`^${s!.project}_db-data-pg15-`));
    const vol = await docker.getVolume(r.json.preservedVolume).inspect();
    expect(vol.Labels['com.docker.compose.project']).to.equal(s!.project);
    const [db] = await containersOf(docker, s!.project, 'db');
    expect(db!.Image).to.equal(tags.pg16);
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal('250');
    expect(await patientsChecksum(docker, s!.project)).to.equal(checksum);
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.images.postgres).to.equal(tags.pg16);
    expect(m.history.at(-1).summary).to.match(/PostgreSQL 15 → 16 by dump and restore/);
  });

  it('a move to a postgres image that does not start puts the previous data directory back', async () => {
    const checksum = await patientsChecksum(docker, s!.project);
    const file = join(work, 'pg16broken.json');
    await writeFile(file, JSON.stringify({ postgres: tags.pg16broken }));
    const r = await cli(s!, ['upgrade', '--images', file, '--pg-major-dump-restore', '--json', '--timeout', '60']);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.json.error.message).to.match(/rolled back: PostgreSQL 15 serves the previous data again/) // the "16" image runs a 15 server;
    const [db] = await containersOf(docker, s!.project, 'db');
    expect(db!.Image).to.equal(tags.pg16);
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients')).to.equal('250');
    expect(await patientsChecksum(docker, s!.project)).to.equal(checksum);
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    expect(JSON.parse(readText(join(s!.root, 'carebox.json'))).images.postgres).to.equal(tags.pg16);
  });
});
