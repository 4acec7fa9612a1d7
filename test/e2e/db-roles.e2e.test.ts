/**
 * Issue 10 items 2 and 5 on the real engine: a fresh install serves the API as the least-privilege
 * application role with tables owned by the owner role; a re-run keeps the install id and .env;
 * and an install from before the roles (tables owned by the superuser, .env without the role
 * passwords, carebox.json without an install id) gets the roles and an id on its next
 * `install --yes` re-run, with every record and audit event kept.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { carebox, freePort, readText, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';
import { containersOf, patientsChecksum, seedPatients, sql } from './ops.helpers.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('e2e: database roles and install id across install re-runs', function () {
  this.timeout(900_000);
  let docker: Docker;
  let root = '';
  let base = '';
  let project = '';
  let token = '';
  const install = () =>
    carebox(['install', '--yes', '--json', '--tier', 'default', '--dir', root, '--http-port', String(port), '--bind', '127.0.0.1', '--images', STANDINS]);
  let port = 0;

  const api = async (method: string, path: string, body?: unknown, auth = true) => {
    const r = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
  const tableOwners = () =>
    sql(
      docker,
      project,
      "SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND relkind IN ('r', 'S')",
    );

  before(async () => {
    docker = await requireE2ePrereqs();
    root = join(await mkdtemp(join(tmpdir(), 'carebox-roles-')), 'root');
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    if (root && existsSync(root)) await carebox(['uninstall', '--dir', root, '--purge', '--yes']);
    if (root) await rm(join(root, '..'), { recursive: true, force: true });
  });

  it('a fresh install: the owner role owns every table, the app serves the API as carebox_app, and carebox.json has an install id', async () => {
    const r = await install();
    expect(r.code, r.stderr).to.equal(0);
    project = r.json.project;
    expect(await tableOwners()).to.equal('carebox_owner');
    const [backend] = await containersOf(docker, project, 'backend');
    const env = (await docker.getContainer(backend!.Id).inspect()).Config.Env;
    expect(env).to.include('DATABASE_USER=carebox_app');
    expect(env.join('\n')).to.not.match(/POSTGRES_PASSWORD|POSTGRES_OWNER_PASSWORD/);
    const login = await api('POST', '/auth/login', { username: r.json.admin.username, password: r.json.admin.oneTimePassword }, false);
    expect(login.status).to.equal(200);
    token = login.body.token;
    expect(
      (await api('POST', '/auth/change-password', { currentPassword: r.json.admin.oneTimePassword, newPassword: 'ward-7-night-shift-2026' })).status,
    ).to.equal(204);
    const created = await api('POST', '/patients', { mrn: 'ROLES-1', givenName: 'Ada', familyName: 'Lovelace', birthDate: '1950-12-10', sex: 'female' });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(JSON.parse(readText(join(root, 'carebox.json'))).installId).to.match(/^[0-9a-f-]{36}$/);
  });

  it('a re-run keeps the install id and .env byte for byte', async () => {
    const id = JSON.parse(readText(join(root, 'carebox.json'))).installId;
    const envSha = sha(join(root, '.env'));
    const r = await install();
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(readText(join(root, 'carebox.json'))).installId).to.equal(id);
    expect(sha(join(root, '.env'))).to.equal(envSha);
  });

  it('an install from before the roles and ids gets both on its next re-run, with every record and audit event kept', async () => {
    await seedPatients(docker, project, 40, 'SEEDED');
    // Turn the stack back into what an older Carebox left: app stopped, the superuser owning
    // everything, no owner or app role, no role passwords in .env, no install id.
    for (const svc of ['backend', 'worker']) for (const c of await containersOf(docker, project, svc)) await docker.getContainer(c.Id).stop({ t: 20 });
    await sql(docker, project, 'REASSIGN OWNED BY carebox_owner TO carebox');
    await sql(docker, project, 'ALTER DATABASE carebox OWNER TO carebox');
    await sql(docker, project, 'DROP OWNED BY carebox_owner');
    await sql(docker, project, 'DROP OWNED BY carebox_app');
    await sql(docker, project, 'DROP ROLE carebox_app');
    await sql(docker, project, 'DROP ROLE carebox_owner');
    expect(await tableOwners()).to.equal('carebox');
    const envPath = join(root, '.env');
    writeFileSync(envPath, readText(envPath).replace(/^POSTGRES_(OWNER|APP)_PASSWORD=.*\n/gm, ''), { mode: 0o600 });
    const manifestPath = join(root, 'carebox.json');
    const m = JSON.parse(readText(manifestPath));
    delete m.installId;
    writeFileSync(manifestPath, `${JSON.stringify(m, null, 2)}\n`);
    const patients = await patientsChecksum(docker, project);
    const audit = await sql(docker, project, "SELECT count(*)::text || '/' || max(id)::text FROM audit_events");

    const r = await install();
    expect(r.code, r.stderr).to.equal(0);
    expect(readText(envPath))
      .to.match(/^POSTGRES_OWNER_PASSWORD=.{43}$/m)
      .and.to.match(/^POSTGRES_APP_PASSWORD=.{43}$/m);
    expect(await tableOwners()).to.equal('carebox_owner');
    expect(await patientsChecksum(docker, project)).to.equal(patients);
    const [count, maxId] = audit.split('/');
    expect(Number(await sql(docker, project, `SELECT count(*) FROM audit_events WHERE id <= ${maxId}`))).to.equal(Number(count));
    expect(JSON.parse(readText(manifestPath)).installId).to.match(/^[0-9a-f-]{36}$/);
    // The API works again as the app role: sign in, read, write.
    const login = await api('POST', '/auth/login', { username: 'admin', password: 'ward-7-night-shift-2026' }, false);
    expect(login.status).to.equal(200);
    token = login.body.token;
    expect((await api('GET', '/patients?q=ROLES-1')).status).to.equal(200);
    expect(
      (await api('POST', '/patients', { mrn: 'ROLES-2', givenName: 'Grace', familyName: 'Hopper', birthDate: '1946-12-09', sex: 'female' })).status,
    ).to.equal(201);
    expect(
      await sql(
        docker,
        project,
        "SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity WHERE datname = 'carebox' AND application_name IN ('carebox-web', 'carebox-worker')",
      ),
    ).to.equal('carebox_app');
  });
});
