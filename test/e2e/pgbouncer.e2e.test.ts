/**
 * `--pgbouncer on` end to end, on the real Docker engine: the default tier installed with
 * PgBouncer (transaction mode) in front of PostgreSQL serves /ready through nginx, the app is
 * configured to reach PgBouncer, and PostgreSQL sees the app's sessions arrive from the PgBouncer
 * container (and none straight from the backend or worker containers). Then it uninstalls.
 * Stand-in images (test/images/build-standins.sh) stand for the registry, as in install.e2e.test.ts.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { carebox, freePort, get, projectResources, readText, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';

/** `docker exec` a command in a container; resolves with stdout, rejects with stderr. */
function dockerExec(container: string, argv: string[], env: Record<string, string> = {}): Promise<string> {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  return new Promise((resolve, reject) => {
    execFile('docker', ['exec', ...envArgs, container, ...argv], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`docker exec ${container} ${argv.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(String(stdout));
    });
  });
}

/** The running containers of one Compose service of a project, with their address on the project network. */
async function serviceContainers(docker: Docker, project: string, service: string): Promise<{ id: string; ip: string; env: string[] }[]> {
  const list = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`] } });
  return Promise.all(
    list.map(async (c) => {
      const info = await docker.getContainer(c.Id).inspect();
      const nets = Object.values(info.NetworkSettings.Networks ?? {});
      return { id: c.Id, ip: nets[0]?.IPAddress ?? '', env: info.Config.Env ?? [] };
    }),
  );
}

describe('e2e: default tier with --pgbouncer on, on the real engine', function () {
  this.timeout(900_000);
  let docker: Docker;
  let root: string;
  let port: number;
  let project: string;

  before(async () => {
    docker = await requireE2ePrereqs();
    root = join(await mkdtemp(join(tmpdir(), 'carebox-e2e-pgb-')), 'root');
    port = await freePort();
  });

  after(async () => {
    // Always leave the engine clean, whatever failed.
    if (root && existsSync(root)) await carebox(['uninstall', '--dir', root, '--purge', '--yes']);
    if (root) await rm(dirname(root), { recursive: true, force: true });
  });

  it('installs the default tier with PgBouncer in front and serves /ready through nginx', async () => {
    const r = await carebox([
      'install',
      '--yes',
      '--json',
      '--dir',
      root,
      '--http-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--images',
      STANDINS,
      '--tier',
      'default',
      '--pgbouncer',
      'on',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.ok).to.equal(true);
    expect(r.json.tier).to.equal('default');
    project = r.json.project;
    const ready = await get(`http://127.0.0.1:${port}/ready`);
    expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
    expect(ready.body.checks.postgres).to.equal('ok');
    const manifest = JSON.parse(readText(join(root, 'carebox.json')));
    expect(manifest.intent.pgbouncer).to.equal('on');
    expect(manifest.plan.sizing.pgbouncer.poolMode).to.equal('transaction');
    expect(existsSync(join(root, 'pgbouncer/pgbouncer.ini'))).to.equal(true);
  });

  it('runs one healthy PgBouncer container and points the backend and worker at it', async () => {
    const [pgb, ...more] = await serviceContainers(docker, project, 'pgbouncer');
    expect(pgb, 'a pgbouncer container').to.not.equal(undefined);
    expect(more).to.have.length(0);
    expect((await docker.getContainer(pgb!.id).inspect()).State.Health?.Status).to.equal('healthy');
    for (const service of ['backend', 'worker']) {
      const containers = await serviceContainers(docker, project, service);
      expect(containers.length, service).to.be.at.least(1);
      for (const c of containers) {
        expect(c.env, service).to.include('DATABASE_HOST=pgbouncer');
        expect(c.env, service).to.include('DATABASE_PORT=6432');
        expect(c.env, service).to.include('DB_PGBOUNCER=true');
      }
    }
  });

  it("PostgreSQL sees the app's sessions coming from the PgBouncer container, none straight from the app", async () => {
    const [pgb] = await serviceContainers(docker, project, 'pgbouncer');
    const [db] = await serviceContainers(docker, project, 'db');
    const appIps = [...(await serviceContainers(docker, project, 'backend')), ...(await serviceContainers(docker, project, 'worker'))].map((c) => c.ip);
    expect(pgb!.ip).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    expect(appIps).to.not.include(pgb!.ip);
    // Traffic through nginx → backend → PgBouncer → PostgreSQL, so PgBouncer holds server connections.
    for (let i = 0; i < 5; i++) expect((await get(`http://127.0.0.1:${port}/ready`)).status).to.equal(200);
    const sql =
      "SELECT coalesce(host(client_addr), 'local'), coalesce(application_name, ''), usename FROM pg_stat_activity " +
      "WHERE datname = 'carebox' AND backend_type = 'client backend' AND pid <> pg_backend_pid()";
    const out = await dockerExec(db!.id, ['psql', '-U', 'carebox', '-d', 'carebox', '-AtF', '|', '-c', sql]);
    const sessions = out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [addr, app, user] = l.split('|');
        return { addr: addr!, app: app!, user: user! };
      });
    // Healthcheck probes (pg_isready over loopback) may come and go; they are not the app.
    const remote = sessions.filter((s) => s.addr !== 'local' && s.addr !== '127.0.0.1');
    expect(remote.length, `pg_stat_activity: ${out}`).to.be.at.least(1);
    for (const s of remote) {
      expect(s.addr, `session ${JSON.stringify(s)} comes from PgBouncer (${pgb!.ip})`).to.equal(pgb!.ip);
      expect(s.user, 'the app logs in as the least-privilege application role').to.equal('carebox_app');
    }
    expect(
      sessions.filter((s) => appIps.includes(s.addr)),
      'sessions straight from the backend or worker',
    ).to.deep.equal([]);
  });

  it("PgBouncer's own client list shows the backend's connections (transaction pooling between them)", async () => {
    const [pgb] = await serviceContainers(docker, project, 'pgbouncer');
    const backendIps = (await serviceContainers(docker, project, 'backend')).map((c) => c.ip);
    const password = /^POSTGRES_APP_PASSWORD=(.*)$/m.exec(readText(join(root, '.env')))![1]!;
    const out = await dockerExec(pgb!.id, ['psql', '-h', '127.0.0.1', '-p', '6432', '-U', 'carebox_app', '-d', 'pgbouncer', '-At', '-c', 'SHOW CLIENTS'], {
      PGPASSWORD: password,
    });
    expect(
      backendIps.some((ip) => out.includes(ip)),
      `SHOW CLIENTS:\n${out}`,
    ).to.equal(true);
    const pools = await dockerExec(pgb!.id, ['psql', '-h', '127.0.0.1', '-p', '6432', '-U', 'carebox_app', '-d', 'pgbouncer', '-At', '-c', 'SHOW CONFIG'], {
      PGPASSWORD: password,
    });
    expect(pools).to.match(/pool_mode\|transaction/);
  });

  it('uninstall --purge --yes leaves no container, network or volume', async () => {
    const r = await carebox(['uninstall', '--json', '--dir', root, '--purge', '--yes']);
    expect(r.code, r.stderr).to.equal(0);
    const left = await projectResources(docker, project);
    expect(left.containers, 'containers').to.have.length(0);
    expect(left.networks, 'networks').to.have.length(0);
    expect(left.volumes, 'volumes').to.have.length(0);
    expect(existsSync(root)).to.equal(false);
  });
});
