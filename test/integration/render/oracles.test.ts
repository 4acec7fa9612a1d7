/**
 * The real tools as oracles on the rendered files of every tier: Compose v2's `docker compose
 * config` and nginx's `nginx -t` inside the nginx image the stack runs (the host's Debian 12
 * nginx 1.22 cannot check it since issue 12: `resolve` on upstream servers needs nginx ≥ 1.27.3).
 * Needs: docker compose (v2 plugin) and a Docker engine with the stand-in images
 * (`bash test/images/build-standins.sh`).
 */
import { expect } from 'chai';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../../installer/apply/exec.js';
import { writeFileAtomic } from '../../../installer/apply/fs.atomic.js';
import { TIERS } from '../../../installer/plan/plan.types.js';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import { IMAGES, planFor, renderFor } from '../../unit/render/render.helpers.js';
import { makeTestCerts } from '../../tls.fixtures.js';

const standinsFile = join(process.cwd(), 'test/images/images.standin.json');

/** The nginx image the stack runs here (the stand-in). */
function standinNginx(): string {
  if (!existsSync(standinsFile)) throw new Error('stand-in images missing: run bash test/images/build-standins.sh');
  return (JSON.parse(readFileSync(standinsFile, 'utf8')) as { nginx: string }).nginx;
}

/** `nginx -t` on `conf` inside the stack's nginx image (no network: `resolve` needs no answer to start). */
async function nginxTest(conf: string) {
  const r = await exec(['docker', 'run', '--rm', '--network', 'none', '-v', `${conf}:/etc/nginx/nginx.conf:ro`, standinNginx(), 'nginx', '-t'], {
    allowFailure: true,
  });
  return { code: r.code, stderr: r.stderr };
}

describe('render oracles: docker compose config and nginx -t on every tier', function () {
  this.timeout(120_000);
  let dir: string;
  before(async function () {
    const v = await exec(['docker', 'compose', 'version', '--short'], { allowFailure: true }).catch(() => null);
    if (!v || v.code !== 0) throw new Error('docker compose (v2) is required for this suite: see README "Testing"');
    dir = await mkdtemp(join(tmpdir(), 'carebox-oracle-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const tier of TIERS) {
    it(`${tier}: compose config accepts compose.yml and nginx -t accepts nginx.conf`, async () => {
      const root = join(dir, tier);
      for (const f of renderFor(planFor(tier))) await writeFileAtomic(join(root, f.path), f.content, f.mode);
      const cfg = await exec(['docker', 'compose', '-p', `oracle-${tier}`, '--project-directory', root, '-f', join(root, 'compose.yml'), 'config', '--quiet'], {
        allowFailure: true,
      });
      expect(cfg.code, cfg.stderr).to.equal(0);
      // The normalised config keeps the planned limits (Compose did not drop them).
      const full = await exec([
        'docker',
        'compose',
        '-p',
        `oracle-${tier}`,
        '--project-directory',
        root,
        '-f',
        join(root, 'compose.yml'),
        'config',
        '--format',
        'json',
      ]);
      const json = JSON.parse(full.stdout) as { services: Record<string, { cpus?: number; mem_limit?: string | number }> };
      expect(Number(json.services.backend!.cpus)).to.equal(planFor(tier).sizing.backend.limits.cpus);
      expect(Number(json.services.backend!.mem_limit)).to.equal(planFor(tier).sizing.backend.limits.memoryBytes);
      const t = await nginxTest(join(root, 'nginx/nginx.conf'));
      expect(t.code, t.stderr).to.equal(0);
    });
  }

  it('default tier with --pgbouncer on: compose config accepts it and keeps PgBouncer with its limits in front of db', async () => {
    const plan = planCarebox(hypotheticalHost(2, 4 * 1024 ** 3), { tier: 'default', users: null, usersSource: null, nodes: null, pgbouncer: 'on' });
    const root = join(dir, 'default-pgbouncer');
    for (const f of renderFor(plan)) await writeFileAtomic(join(root, f.path), f.content, f.mode);
    const args = ['docker', 'compose', '-p', 'oracle-default-pgbouncer', '--project-directory', root, '-f', join(root, 'compose.yml'), 'config'];
    const cfg = await exec([...args, '--quiet'], { allowFailure: true });
    expect(cfg.code, cfg.stderr).to.equal(0);
    const json = JSON.parse((await exec([...args, '--format', 'json'])).stdout) as {
      services: Record<string, { cpus?: number; mem_limit?: string | number; environment?: Record<string, string> }>;
    };
    expect(Number(json.services.pgbouncer!.cpus)).to.equal(plan.sizing.pgbouncer!.limits.cpus);
    expect(Number(json.services.pgbouncer!.mem_limit)).to.equal(plan.sizing.pgbouncer!.limits.memoryBytes);
    expect(json.services.backend!.environment!.DATABASE_HOST).to.equal('pgbouncer');
  });

  it('nginx -t passes inside the nginx image the stack runs (stand-in where no registry is reachable)', async function () {
    if (!existsSync(standinsFile)) throw new Error('stand-in images missing: run bash test/images/build-standins.sh');
    const nginxImage = (JSON.parse(readFileSync(standinsFile, 'utf8')) as { nginx: string }).nginx;
    const root = join(dir, 'in-image');
    for (const f of renderFor(planFor('horizontal'), { ...IMAGES, nginx: nginxImage })) await writeFileAtomic(join(root, f.path), f.content, f.mode);
    const r = await exec(['docker', 'run', '--rm', '-v', `${join(root, 'nginx/nginx.conf')}:/etc/nginx/nginx.conf:ro`, nginxImage, 'nginx', '-t'], {
      allowFailure: true,
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/test is successful/);
  });

  it('with TLS (a real openssl certificate): compose config accepts the two ports and nginx -t in the image loads the certificate', async function () {
    if (!existsSync(standinsFile)) throw new Error('stand-in images missing: run bash test/images/build-standins.sh');
    const nginxImage = (JSON.parse(readFileSync(standinsFile, 'utf8')) as { nginx: string }).nginx;
    const certs = makeTestCerts();
    const root = join(dir, 'tls');
    const tls = { httpsPort: 18443, certPem: readFileSync(certs.cert, 'utf8'), keyPem: readFileSync(certs.key, 'utf8') };
    for (const f of renderFor(planFor('default'), { ...IMAGES, nginx: nginxImage }, tls)) await writeFileAtomic(join(root, f.path), f.content, f.mode);
    const cfg = await exec(['docker', 'compose', '-p', 'oracle-tls', '--project-directory', root, '-f', join(root, 'compose.yml'), 'config', '--quiet'], {
      allowFailure: true,
    });
    expect(cfg.code, cfg.stderr).to.equal(0);
    // The same mount as the stack: the install root's nginx/ at /etc/nginx/carebox, read-only.
    const r = await exec(
      ['docker', 'run', '--rm', '-v', `${join(root, 'nginx')}:/etc/nginx/carebox:ro`, nginxImage, 'nginx', '-t', '-c', '/etc/nginx/carebox/nginx.conf'],
      { allowFailure: true },
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/test is successful/);
    rmSync(certs.dir, { recursive: true, force: true });
  });

  it("the host's Debian 12 nginx (1.22) rejects the rendered config: why the image check above is the oracle", async function () {
    const host = await exec(['nginx', '-v'], { allowFailure: true }).catch(() => null);
    if (!host || !/nginx\/1\.2[0-6]\./.test(host.stderr)) this.skip(); // only meaningful with an nginx older than 1.27.3
    const root = join(dir, 'host-old');
    for (const f of renderFor(planFor('default'))) await writeFileAtomic(join(root, f.path), f.content, f.mode);
    const out = join(root, 'nginx-t.log');
    // Through sh into a file: Node's child pipes are sockets, on which nginx cannot open /dev/stdout.
    const r = await exec(['sh', '-c', 'nginx -t -q -c "$1" -p "$2" >"$3" 2>&1', 'sh', join(root, 'nginx/nginx.conf'), root, out], { allowFailure: true });
    expect(r.code).to.not.equal(0);
    expect(readFileSync(out, 'utf8')).to.match(/invalid parameter "resolve"/);
  });

  it('a deliberately broken nginx.conf fails nginx -t (the oracle can say no)', async () => {
    const root = join(dir, 'broken');
    await writeFileAtomic(join(root, 'nginx/nginx.conf'), 'events {}\nhttp { server { listen 8080; proxy_pass; } }\n');
    const t = await nginxTest(join(root, 'nginx/nginx.conf'));
    expect(t.code).to.not.equal(0);
    expect(t.stderr).to.match(/proxy_pass/);
  });
});
