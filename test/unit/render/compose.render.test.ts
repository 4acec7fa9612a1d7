import { expect } from 'chai';
import { parse } from 'yaml';
import { findComposeIssues, lintCompose } from '../../../installer/render/compose.lint.js';
import { TIERS } from '../../../installer/plan/plan.types.js';
import { fileOf, OPTIONS, planFor, renderFor } from './render.helpers.js';

type Svc = Record<string, any>;

describe('render: compose.yml', () => {
  for (const tier of TIERS) {
    it(`${tier}: is built from the plan (replicas, limits, pools) and passes the lint`, () => {
      const plan = planFor(tier);
      const doc = parse(fileOf(renderFor(plan), 'compose.yml')) as { services: Record<string, Svc> };
      const s = doc.services;
      expect(s.backend!.deploy.replicas).to.equal(plan.sizing.backend.replicas);
      expect(s.worker!.deploy.replicas).to.equal(plan.sizing.queue.replicas);
      expect(s.backend!.environment.WEB_CONCURRENCY).to.equal(String(plan.sizing.backend.workers));
      expect(s.backend!.environment.DB_POOL_MAX).to.equal(String(plan.sizing.backend.pool.max));
      expect(s.backend!.mem_limit).to.equal(`${plan.sizing.backend.limits.memoryBytes / 1024 ** 2}m`);
      expect(s.db!.mem_limit).to.equal(`${plan.sizing.postgres.limits.memoryBytes / 1024 ** 2}m`);
      expect(s.backend!.cpus).to.equal(plan.sizing.backend.limits.cpus);
      // Only the edge publishes; nothing has a container_name.
      expect(s.nginx!.ports).to.deep.equal(['127.0.0.1:18080:8080']);
      for (const [name, svc] of Object.entries(s)) {
        expect(svc, name).to.not.have.property('container_name');
        if (name !== 'nginx') expect(svc, name).to.not.have.property('ports');
      }
      // PgBouncer exactly when planned, and the app then talks to it.
      expect(Boolean(s.pgbouncer)).to.equal(plan.sizing.pgbouncer !== null);
      expect(s.backend!.environment.DATABASE_HOST).to.equal(plan.sizing.pgbouncer ? 'pgbouncer' : 'db');
      expect(s.backend!.environment.DB_PGBOUNCER).to.equal(String(plan.sizing.pgbouncer !== null));
      expect(findComposeIssues(doc)).to.deep.equal([]);
    });
  }

  it('never writes a secret into compose.yml (only ${VAR} references to .env)', () => {
    const files = renderFor(planFor('horizontal'));
    const compose = fileOf(files, 'compose.yml');
    expect(compose).to.not.include('secret-value-');
    expect(compose).to.include('DATABASE_PASSWORD_FILE: /run/secrets/app-db-password');
    const env = files.find((f) => f.path === '.env')!;
    expect(env.mode).to.equal(0o600);
    expect(env.content).to.include('POSTGRES_PASSWORD=secret-value-');
  });

  it('is byte-identical for the same inputs (a re-run shows an empty diff)', () => {
    const a = renderFor(planFor('horizontal'));
    const b = renderFor(planFor('horizontal'));
    expect(a).to.deep.equal(b);
  });

  it('emits no YAML anchors or aliases (readable, and safe for every Compose version)', () => {
    const text = fileOf(renderFor(planFor('default')), 'compose.yml');
    expect(text).to.not.match(/[&*]a\d+/);
  });

  it('lint rejects container_name, host ports on a backend, missing limits, unpinned images, missing healthchecks, missing least-privilege settings and unrotated logs', () => {
    const bad = {
      services: {
        backend: { image: 'carebox/server', container_name: 'x', ports: ['3000:3000'] },
        nginx: { image: 'nginx:latest', cpus: 1, mem_limit: '64m', ports: ['80:8080'], healthcheck: { test: ['CMD', 'true'] } },
      },
    };
    const rules = findComposeIssues(bad)
      .map((i) => `${i.service}:${i.rule}`)
      .sort();
    expect(rules).to.deep.equal([
      'backend:container-name',
      'backend:missing-limits',
      'backend:no-healthcheck',
      'backend:privileges',
      'backend:published-port',
      'backend:unbounded-logs',
      'backend:unpinned-image',
      'nginx:privileges',
      'nginx:unbounded-logs',
      'nginx:unpinned-image',
    ]);
    expect(() => lintCompose(bad)).to.throw(/port is already allocated/);
  });
});

describe('render: text configs', () => {
  it('nginx: explicit worker_processes, the plan’s body limit, an upstream with keep-alive and live DNS', () => {
    const plan = planFor('horizontal');
    const conf = fileOf(renderFor(plan), 'nginx/nginx.conf');
    expect(conf).to.match(new RegExp(`^worker_processes ${plan.sizing.nginx.workerProcesses};`, 'm'));
    expect(conf).to.not.match(/worker_processes\s+auto/);
    expect(conf).to.include(`worker_connections ${plan.sizing.nginx.workerConnections};`);
    expect(conf).to.include(`client_max_body_size ${plan.sizing.bodyLimitBytes};`);
    expect(conf).to.include('resolver 127.0.0.11');
    // Issue 12 (was: a variable proxy_pass, resolved per request, no upstream keep-alive).
    const u = plan.sizing.nginx.upstream!;
    expect(conf).to.match(new RegExp(`resolver 127\\.0\\.0\\.11 valid=${u.resolverValidS}s`));
    const block = /upstream carebox_backend \{([^}]*)\}/.exec(conf)?.[1] ?? '';
    expect(block).to.match(/^\s*zone carebox_backend \d+k;/m);
    expect(block).to.match(new RegExp(`^\\s*server backend:3000 resolve max_fails=1 fail_timeout=${u.failTimeoutS}s;`, 'm'));
    expect(block).to.match(/^\s*server backend:3000 resolve backup max_fails=0;/m);
    expect(block).to.include(`keepalive ${u.keepalive};`);
    expect(block).to.include(`keepalive_timeout ${u.keepaliveTimeoutS}s;`);
    expect(block).to.include(`keepalive_requests ${u.keepaliveRequests};`);
    expect(conf).to.match(/proxy_pass http:\/\/carebox_backend;/);
    // The API's own 503 (Retry-After) reaches the client and takes no replica out; only readiness
    // asks the next replica on a 503 (a draining one answers `shutting_down`).
    expect(conf).to.match(/^\s*proxy_next_upstream error timeout http_502;$/m);
    expect(/location = \/ready \{([^}]*)\}/.exec(conf)?.[1] ?? '').to.match(/proxy_next_upstream error timeout http_502 http_503;/);
    expect(conf).to.match(/proxy_http_version 1\.1;\s*proxy_set_header Connection "";/);
    // Buffered access log, with the replica that answered.
    expect(conf).to.match(/access_log \/dev\/stdout carebox buffer=4096 flush=1s;/);
    expect(conf).to.match(/log_format carebox [^;]*upstream=\$upstream_addr';/);
    // The access log never carries query strings (search terms can be patient names).
    expect(conf).to.not.match(/log_format[^;]*\$request[ "']/);
    expect(conf).to.not.match(/\$args|\$query_string|\$request_uri/);
  });

  it('nginx: a plan recorded without upstream settings (an older manifest) renders the same derivation', () => {
    const plan = planFor('optimized');
    const { upstream: _u, minVersion: _m, ...older } = plan.sizing.nginx;
    const old = { ...plan, sizing: { ...plan.sizing, nginx: older } };
    expect(fileOf(renderFor(old), 'nginx/nginx.conf')).to.equal(fileOf(renderFor(plan), 'nginx/nginx.conf'));
  });

  it('postgresql.conf: the plan’s max_connections and memory, and no bind parameters in logs', () => {
    const plan = planFor('optimized');
    const conf = fileOf(renderFor(plan), 'postgres/postgresql.conf');
    expect(conf).to.match(new RegExp(`^max_connections = ${plan.sizing.postgres.maxConnections}$`, 'm'));
    expect(conf).to.match(new RegExp(`^shared_buffers = ${Math.floor(plan.sizing.postgres.sharedBuffersBytes / 1024 ** 2)}MB$`, 'm'));
    expect(conf).to.match(new RegExp(`^work_mem = ${Math.floor(plan.sizing.postgres.workMemBytes / 1024)}kB$`, 'm'));
    expect(conf).to.match(/^log_parameter_max_length = 0$/m);
    expect(conf).to.match(/^log_parameter_max_length_on_error = 0$/m);
  });

  it('redis.conf: maxclients from the counted clients, an eviction policy that spares queue data', () => {
    const plan = planFor('horizontal');
    const conf = fileOf(renderFor(plan), 'redis/redis.conf');
    expect(conf).to.match(new RegExp(`^maxclients ${plan.sizing.redis.maxClients}$`, 'm'));
    expect(conf).to.match(new RegExp(`^maxmemory ${plan.sizing.redis.maxMemoryBytes}$`, 'm'));
    expect(conf).to.match(/^maxmemory-policy volatile-lru$/m);
    expect(conf).to.not.match(/requirepass/);
  });

  it('pgbouncer.ini only for plans with PgBouncer, in transaction mode, with no password outside the secret files', () => {
    expect(renderFor(planFor('default')).map((f) => f.path)).to.not.include('pgbouncer/pgbouncer.ini');
    const files = renderFor(planFor('cluster'));
    const ini = fileOf(files, 'pgbouncer/pgbouncer.ini');
    const pgb = planFor('cluster').sizing.pgbouncer!;
    expect(ini).to.match(/^pool_mode = transaction$/m);
    expect(ini).to.match(new RegExp(`^default_pool_size = ${pgb.defaultPoolSize}$`, 'm'));
    expect(ini).to.match(new RegExp(`^max_client_conn = ${pgb.maxClientConn}$`, 'm'));
    for (const f of files.filter((x) => !x.secret)) expect(f.content, f.path).to.not.include('secret-value-');
  });
});

describe('render: TLS at the edge', () => {
  it('publishes HTTPS on the bind address and HTTP on 127.0.0.1 only; nginx listens on 8443 with the certificate; the key is 0600 and secret', () => {
    const files = renderFor(planFor('default'), undefined, { httpsPort: 8443, certPem: 'CERT\n', keyPem: 'KEY\n' });
    const compose = parse(fileOf(files, 'compose.yml'));
    expect(compose.services.nginx.ports).to.deep.equal([`${OPTIONS.bindAddress}:8443:8443`, `127.0.0.1:${OPTIONS.httpPort}:8080`]);
    const conf = fileOf(files, 'nginx/nginx.conf');
    expect(conf).to.match(/listen 8443 ssl default_server;/);
    expect(conf).to.match(/ssl_certificate \/etc\/nginx\/carebox\/tls\/cert\.pem;/);
    expect(conf).to.match(/ssl_protocols TLSv1\.2 TLSv1\.3;/);
    expect(files.find((f) => f.path === 'nginx/tls/key.pem')).to.deep.include({ mode: 0o600, secret: true, content: 'KEY\n' });
    expect(files.find((f) => f.path === 'nginx/tls/cert.pem')).to.deep.include({ mode: 0o644, secret: false });
  });
  it('without TLS: no ssl directives and no certificate files', () => {
    const files = renderFor(planFor('default'));
    expect(fileOf(files, 'nginx/nginx.conf')).to.not.match(/ssl/);
    expect(files.map((f) => f.path)).to.not.include('nginx/tls/key.pem');
  });
});

describe('render: nginx edge', () => {
  it('keeps /metrics off the public edge', () => {
    const conf = fileOf(renderFor(planFor('default')), 'nginx/nginx.conf');
    expect(conf).to.match(/location ~\* \^\/metrics\(\?:\/\|\$\) \{[^}]*return 404/);
    expect(conf).to.match(/error_page 413 = @too_large;/);
  });
});
