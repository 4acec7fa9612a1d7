/**
 * Issue 10, items 7 and 8, as rendered: every service runs with the least it needs, secrets reach
 * images as files, and nginx believes X-Forwarded-For only from the proxies the operator named.
 * (The e2e test test/e2e/hardening.e2e.test.ts checks the same on a running stack.)
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { TIERS } from '../../../installer/plan/plan.types.js';
import { nginxTempBytes } from '../../../installer/render/compose.render.js';
import { renderStack } from '../../../installer/render/render.js';
import { loadTemplates } from '../../../installer/render/templates.load.js';
import { trustedProxiesFlag } from '../../../installer/commands/install.command.js';
import { UsageError } from '../../../installer/errors.js';
import { ENV, fileOf, IMAGES, OPTIONS, planFor, renderFor } from './render.helpers.js';

type Svc = Record<string, any>;
const services = (files: ReturnType<typeof renderFor>) => (parse(fileOf(files, 'compose.yml')) as { services: Record<string, Svc> }).services;

describe('render: least privilege (issue 10 item 8)', () => {
  for (const tier of TIERS) {
    it(`${tier}: every service is read-only, drops every capability, cannot gain privileges and has the plan's pids limit`, () => {
      const plan = planFor(tier);
      const s = services(renderFor(plan));
      const byService: Record<string, number> = { ...plan.sizing.pidsLimit! };
      for (const [name, svc] of Object.entries(s)) {
        expect(svc.read_only, name).to.equal(true);
        expect(svc.cap_drop, name).to.deep.equal(['ALL']);
        expect(svc.cap_add ?? [], name).to.deep.equal([]);
        expect(svc.security_opt, name).to.deep.equal(['no-new-privileges:true']);
        expect(svc.pids_limit, name).to.equal(byService[name]);
        expect(svc.privileged, name).to.equal(undefined);
        expect(svc.tmpfs, name).to.be.an('array').that.is.not.empty;
      }
      // No service's entrypoint runs as root: the images' own users, nginx as 101.
      expect(s.db!.user).to.equal('postgres');
      expect(s.redis!.user).to.equal('redis');
      expect(s.nginx!.user).to.equal('101:101');
      expect(plan.derivations['sizing.pidsLimit.db']).to.include(`max_connections ${plan.sizing.postgres.maxConnections}`);
      expect(plan.sizing.pidsLimit!.backend).to.be.greaterThan(16 * (plan.sizing.backend.workers + 1));
    });
  }

  it('passes no secret to db, redis, pgbouncer or nginx in a command, argument or environment variable', () => {
    const s = services(renderFor(planFor('cluster')));
    for (const name of ['db', 'redis', 'pgbouncer', 'nginx']) {
      const text = JSON.stringify([s[name]!.command ?? null, s[name]!.entrypoint ?? null, s[name]!.environment ?? {}, s[name]!.healthcheck]);
      expect(text, name).to.not.match(/PASSWORD\}|\$\{REDIS|secret-value-/);
    }
    expect(s.db!.environment.POSTGRES_PASSWORD_FILE).to.equal('/run/secrets/postgres-password');
    expect(s.db!.secrets).to.deep.equal(['postgres-password']);
    expect(s.pgbouncer!.secrets).to.deep.equal(['pgbouncer-userlist']);
    // The server reads its passwords from files too (DATABASE_PASSWORD_FILE, REDIS_PASSWORD_FILE).
    for (const svc of ['backend', 'worker']) {
      expect(s[svc]!.secrets, svc).to.deep.equal(['app-db-password', 'redis-password']);
      expect(s[svc]!.environment, svc).to.include({
        DATABASE_PASSWORD_FILE: '/run/secrets/app-db-password',
        REDIS_PASSWORD_FILE: '/run/secrets/redis-password',
      });
      expect(s[svc]!.environment, svc).to.not.have.any.keys('DATABASE_PASSWORD', 'REDIS_PASSWORD');
    }
  });

  it('writes the secret files 0444 under secrets/, and Redis gets only the password’s SHA-256', () => {
    const files = renderFor(planFor('cluster'));
    expect(files.find((f) => f.path === 'secrets/postgres-password')).to.deep.include({ mode: 0o444, secret: true, content: ENV.secrets.POSTGRES_PASSWORD });
    expect(files.find((f) => f.path === 'secrets/app-db-password')).to.deep.include({ mode: 0o444, secret: true, content: ENV.secrets.POSTGRES_APP_PASSWORD });
    expect(files.find((f) => f.path === 'secrets/redis-password')).to.deep.include({ mode: 0o444, secret: true, content: ENV.secrets.REDIS_PASSWORD });
    expect(files.find((f) => f.path === 'secrets/pgbouncer-userlist.txt')).to.deep.include({
      mode: 0o444,
      secret: true,
      content: `"carebox_app" "${ENV.secrets.POSTGRES_APP_PASSWORD}"\n`,
    });
    const acl = fileOf(files, 'redis/users.acl');
    expect(acl).to.include(`user default on #${createHash('sha256').update(ENV.secrets.REDIS_PASSWORD).digest('hex')} `);
    expect(acl).to.not.include(ENV.secrets.REDIS_PASSWORD);
    expect(acl).to.match(/^user healthcheck on nopass resetchannels -@all \+ping$/m);
    expect(fileOf(files, 'redis/redis.conf')).to.match(/^aclfile \/usr\/local\/etc\/carebox\/users\.acl$/m);
    expect(fileOf(files, 'pgbouncer/pgbouncer.ini')).to.match(/^auth_file = \/run\/secrets\/pgbouncer-userlist$/m);
    // Without PgBouncer there is no userlist file and no dangling Compose secret.
    const plain = renderFor(planFor('default'));
    expect(plain.map((f) => f.path)).to.not.include('secrets/pgbouncer-userlist.txt');
    expect(parse(fileOf(plain, 'compose.yml')).secrets).to.have.all.keys('postgres-password', 'app-db-password', 'redis-password');
  });

  it('nginx: unprivileged ports, temp files in a capped tmpfs', () => {
    const plan = planFor('default');
    const files = renderFor(plan);
    const conf = fileOf(files, 'nginx/nginx.conf');
    expect(conf).to.not.match(/^\s*listen\s+(80|443)\b/m);
    expect(conf).to.match(/^\s*client_body_temp_path \/tmp\//m);
    expect(conf).to.match(/^\s*proxy_temp_path \/tmp\//m);
    expect(services(files).nginx!.tmpfs).to.deep.equal([`/tmp:mode=1777,size=${nginxTempBytes(plan.sizing.bodyLimitBytes) / 1024 ** 2}m`]);
  });
});

describe('render: trusted proxies (issue 10 item 7)', () => {
  const render = (trustedProxies: string[]) =>
    renderStack({ plan: planFor('default'), env: ENV, images: IMAGES, options: { ...OPTIONS, trustedProxies }, templates: loadTemplates() });

  it('without --trusted-proxy nginx takes no address from X-Forwarded-For', () => {
    const conf = fileOf(render([]), 'nginx/nginx.conf');
    expect(conf).to.not.match(/set_real_ip_from|real_ip_header/);
  });

  it('with --trusted-proxy: set_real_ip_from exactly those CIDRs, X-Forwarded-For, recursive; the server trusts one hop', () => {
    const files = render(['10.20.0.0/24', 'fd00::5/128']);
    const conf = fileOf(files, 'nginx/nginx.conf');
    expect(conf.match(/^\s*set_real_ip_from .*;$/gm)!.map((l) => l.trim())).to.deep.equal(['set_real_ip_from 10.20.0.0/24;', 'set_real_ip_from fd00::5/128;']);
    expect(conf).to.match(/^\s*real_ip_header X-Forwarded-For;$/m);
    expect(conf).to.match(/^\s*real_ip_recursive on;$/m);
    expect(services(files).backend!.environment.TRUST_PROXY).to.equal('1');
  });

  it('--trusted-proxy parsing: addresses and CIDRs, comma or space separated, deduplicated; none clears', () => {
    expect(trustedProxiesFlag(undefined)).to.equal(null);
    expect(trustedProxiesFlag(['10.20.0.5', '10.20.0.0/24,FD00::/64', '10.20.0.5/32'])).to.deep.equal(['10.20.0.5/32', '10.20.0.0/24', 'fd00::/64']);
    expect(trustedProxiesFlag(['none'])).to.deep.equal([]);
  });

  for (const bad of ['10.0.0.0/33', 'example.org', '10.0.0', '0.0.0.0/0', '::/0', '10.0.0.1/', '1.2.3.4; include /etc/passwd']) {
    it(`--trusted-proxy refuses '${bad}' with a usage error (exit 2)`, () => {
      expect(() => trustedProxiesFlag([bad]))
        .to.throw(UsageError)
        .with.property('exitCode', 2);
    });
  }
});
