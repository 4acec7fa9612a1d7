/**
 * Issue 2 end to end, on the real Docker engine, from an empty install root: install → serve
 * through nginx → status → re-run recreates nothing → uninstall --purge leaves nothing.
 * No registry is reachable here, so postgres/redis/nginx/node are the stand-in images built from
 * Debian packages by test/images/build-standins.sh (passed with --images).
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { carebox, freePort, get, projectResources, readText, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';
import { makeTestCerts } from '../tls.fixtures.js';

/** GET over HTTPS trusting only `ca` (the test certificate is its own CA). */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; hsts: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, hsts: res.headers['strict-transport-security'] as string | undefined }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const sha = (p: string) => createHash('sha256').update(readText(p)).digest('hex');

describe('e2e: install, status, re-run, uninstall on the real engine', function () {
  this.timeout(900_000);
  let docker: Docker;
  let root: string;
  let port: number;
  let project: string | null = null;

  before(async () => {
    docker = await requireE2ePrereqs();
    root = join(await mkdtemp(join(tmpdir(), 'carebox-e2e-')), 'root');
    port = await freePort();
  });

  after(async () => {
    // Always leave the engine clean, whatever failed.
    if (root && existsSync(root)) await carebox(['uninstall', '--dir', root, '--purge', '--yes']);
  });

  it('installs from an empty root with --yes and serves /health and /ready through nginx', async () => {
    const r = await carebox(['install', '--yes', '--json', '--dir', root, '--http-port', String(port), '--bind', '127.0.0.1', '--images', STANDINS]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.ok).to.equal(true);
    expect(r.json.url).to.equal(`http://127.0.0.1:${port}/`);
    project = r.json.project;
    expect(project).to.match(/^carebox-root-[0-9a-f]{6}$/);

    const health = await get(`http://127.0.0.1:${port}/health`);
    expect(health.status).to.equal(200);
    const ready = await get(`http://127.0.0.1:${port}/ready`);
    expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
    expect(ready.body.checks.postgres).to.equal('ok');
    expect(ready.body.checks.redis).to.equal('ok');

    expect(statSync(join(root, '.env')).mode & 0o777).to.equal(0o600);
    for (const f of ['compose.yml', 'nginx/nginx.conf', 'postgres/postgresql.conf', 'redis/redis.conf', 'carebox.json'])
      expect(existsSync(join(root, f)), f).to.equal(true);
    const manifest = JSON.parse(readText(join(root, 'carebox.json')));
    expect(manifest.plan.tier).to.equal(r.json.tier);
    expect(manifest.history).to.have.length(1);
    expect(readText(join(root, 'carebox.json'))).to.not.include(readText(join(root, '.env')).match(/POSTGRES_PASSWORD=(.*)/)![1]);
  });

  it('status --json shows every service with its planned replicas, running and healthy', async () => {
    const r = await carebox(['status', '--json', '--dir', root]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.healthy).to.equal(true);
    const services = Object.fromEntries(r.json.services.map((s: any) => [s.service, s]));
    for (const name of ['db', 'redis', 'backend', 'worker', 'nginx']) {
      expect(services[name], name).to.not.equal(undefined);
      expect(services[name].state, name).to.equal('healthy');
      expect(services[name].ready, name).to.equal(services[name].expected);
      for (const c of services[name].containers) {
        expect(c.state).to.equal('running');
        expect(c.health).to.equal('healthy');
        expect(c.usage.memoryLimitBytes).to.be.greaterThan(0);
      }
    }
  });

  it('a second install --yes (no flags) recreates nothing and keeps the secrets byte-identical', async () => {
    const before = await projectResources(docker, project!);
    const envBefore = sha(join(root, '.env'));
    const composeBefore = sha(join(root, 'compose.yml'));
    const manifestBefore = sha(join(root, 'carebox.json'));
    // No --images: a re-run keeps the images the install recorded (an air-gapped host cannot pull the defaults).
    const r = await carebox(['install', '--yes', '--json', '--dir', root]);
    expect(r.code, r.stderr).to.equal(0);
    expect(
      r.json.files.every((f: any) => f.status === 'unchanged'),
      JSON.stringify(r.json.files),
    ).to.equal(true);
    expect(r.json.manifestWritten).to.equal(false);
    const after = await projectResources(docker, project!);
    const ids = (xs: { Id: string; Created: number }[]) => xs.map((c) => `${c.Id}@${c.Created}`).sort();
    expect(ids(after.containers)).to.deep.equal(ids(before.containers));
    expect(sha(join(root, '.env'))).to.equal(envBefore);
    expect(sha(join(root, 'compose.yml'))).to.equal(composeBefore);
    expect(sha(join(root, 'carebox.json'))).to.equal(manifestBefore);
    expect((await get(`http://127.0.0.1:${port}/ready`)).status).to.equal(200);
  });

  it('refuses with exit 3 when the HTTP port is taken by another process, changing nothing', async () => {
    const other = join(root, '..', 'other-root');
    const busy = await freePort();
    const server: Server = createServer();
    await new Promise<void>((res) => server.listen(busy, '127.0.0.1', () => res()));
    try {
      const r = await carebox(['install', '--yes', '--json', '--dir', other, '--http-port', String(busy), '--bind', '127.0.0.1', '--images', STANDINS]);
      expect(r.code, r.stderr).to.equal(3);
      expect(r.json.error.code).to.equal('PREFLIGHT_FAILED');
      expect(r.json.error.message).to.match(/port/i);
      expect(existsSync(other)).to.equal(false);
    } finally {
      server.close();
    }
  });

  it('TLS: a re-run with --tls-cert/--tls-key serves HTTPS with that certificate, keeps HTTP on loopback, and a bare re-run keeps it', async () => {
    const certs = makeTestCerts();
    try {
      const httpsPort = await freePort();
      const r = await carebox([
        'install',
        '--yes',
        '--json',
        '--dir',
        root,
        '--tls-cert',
        certs.cert,
        '--tls-key',
        certs.key,
        '--https-port',
        String(httpsPort),
      ]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.json.url).to.equal(`https://127.0.0.1:${httpsPort}/`);
      const tlsReady = await httpsGet(`https://127.0.0.1:${httpsPort}/ready`, readFileSync(certs.cert));
      expect(tlsReady.status).to.equal(200);
      expect(tlsReady.hsts).to.match(/max-age=\d+/);
      expect((await get(`http://127.0.0.1:${port}/ready`)).status, 'plain HTTP on loopback for this host').to.equal(200);
      expect(statSync(join(root, 'nginx/tls/key.pem')).mode & 0o777).to.equal(0o600);
      const manifestText = readText(join(root, 'carebox.json'));
      expect(JSON.parse(manifestText).http.tls).to.deep.include({ httpsPort, subject: 'CN=carebox.test' });
      expect(manifestText).to.not.include('PRIVATE KEY');
      const status = await carebox(['status', '--json', '--no-usage', '--dir', root]);
      expect(status.json.url).to.equal(`https://127.0.0.1:${httpsPort}/`);
      // A bare re-run keeps TLS and changes nothing.
      const again = await carebox(['install', '--yes', '--json', '--dir', root]);
      expect(again.code, again.stderr).to.equal(0);
      expect(
        again.json.files.every((f: any) => f.status === 'unchanged'),
        JSON.stringify(again.json.files),
      ).to.equal(true);
      expect((await httpsGet(`https://127.0.0.1:${httpsPort}/ready`, readFileSync(certs.cert))).status).to.equal(200);
      // Half a pair is a usage error.
      const half = await carebox(['install', '--yes', '--json', '--dir', root, '--tls-cert', certs.cert]);
      expect(half.code).to.equal(2);
      // Renewal: a re-run with a new pair makes nginx serve it (reloaded; the smoke test checks the fingerprint).
      const renewed = makeTestCerts('renewed.test');
      try {
        const rr = await carebox(['install', '--yes', '--json', '--dir', root, '--tls-cert', renewed.cert, '--tls-key', renewed.key]);
        expect(rr.code, rr.stderr).to.equal(0);
        expect((await httpsGet(`https://127.0.0.1:${httpsPort}/ready`, readFileSync(renewed.cert))).status).to.equal(200);
        // nginx's reload is graceful: old workers may finish a moment later, never new connections for long.
        let err: Error | null = null;
        for (let i = 0; i < 20 && !err; i++) {
          err = await httpsGet(`https://127.0.0.1:${httpsPort}/ready`, readFileSync(certs.cert)).then(
            () => null,
            (e: Error) => e,
          );
          if (!err) await new Promise((r) => setTimeout(r, 250));
        }
        expect(err, 'the old certificate is no longer served').to.be.instanceOf(Error);
        expect(JSON.parse(readText(join(root, 'carebox.json'))).http.tls.subject).to.equal('CN=renewed.test');
      } finally {
        rmSync(renewed.dir, { recursive: true, force: true });
      }
    } finally {
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });

  it('uninstall keeps data and the root; --purge --yes leaves no container, network or volume', async () => {
    // Without a TTY, stopping the stack needs --yes (exit 2) and changes nothing.
    const unconfirmed = await carebox(['uninstall', '--json', '--dir', root]);
    expect(unconfirmed.code, unconfirmed.stderr).to.equal(2);
    expect((await projectResources(docker, project!)).containers.length).to.be.at.least(5);
    const keep = await carebox(['uninstall', '--json', '--yes', '--dir', root]);
    expect(keep.code, keep.stderr).to.equal(0);
    let left = await projectResources(docker, project!);
    expect(left.containers).to.have.length(0);
    expect(left.volumes.length).to.be.at.least(2);
    expect(existsSync(join(root, '.env'))).to.equal(true);

    const purge = await carebox(['uninstall', '--json', '--dir', root, '--purge', '--yes']);
    expect(purge.code, purge.stderr).to.equal(0);
    left = await projectResources(docker, project!);
    expect(left.containers, 'containers').to.have.length(0);
    expect(left.networks, 'networks').to.have.length(0);
    expect(left.volumes, 'volumes').to.have.length(0);
    expect(existsSync(root)).to.equal(false);
    await rm(join(root, '..'), { recursive: true, force: true });
  });
});
