/**
 * Issue 10, items 7 and 8, end to end on the real Docker engine (stand-in images, --images):
 *  - every service of an installed stack runs with the least it needs, as `docker inspect` and the
 *    processes themselves show: read-only root filesystem, no capabilities, no-new-privileges, the
 *    plan's pids limit, a non-root process 1, and no secret in a command, argument or (for the
 *    images that read secrets from files) environment variable;
 *  - `--trusted-proxy`: behind the hospital's reverse proxy (the host's own nginx here, run from a
 *    temporary prefix) the audit trail records the client's address, not the proxy's; and a client
 *    that is not a trusted proxy cannot forge its address with X-Forwarded-For.
 * The host reaches the stack's published port through Docker's proxy, so the Carebox nginx sees
 * host traffic (the hospital proxy's) from the stack network's gateway: that is the address the
 * test trusts. The untrusted client is a container of the test's own on the stack network.
 */
import { SCHEDULER_PIDS } from '../../installer/render/compose.render.js';
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import type Docker from 'dockerode';
import { execIn } from '../../installer/runtime/container.exec.js';
import { exec } from '../../installer/apply/exec.js';
import { carebox, freePort, readText, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';

/** POST a failed sign-in (unknown user) to `port` on 127.0.0.1 from `localAddress`; returns the request id nginx gave it. */
function failedSignIn(port: number, localAddress: string, forwardedFor: string): Promise<{ status: number; requestId: string }> {
  const body = JSON.stringify({ username: `probe-${Math.random().toString(36).slice(2)}`, password: 'not-the-password-1' });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: 'POST',
        path: '/api/v1/auth/login',
        timeout: 15_000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-forwarded-for': forwardedFor },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id'] ?? '') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('e2e: least privilege and trusted proxies (issue 10, items 7 and 8)', function () {
  this.timeout(900_000);
  let docker: Docker;
  let tmp: string;
  let root: string;
  let port: number;
  let project: string;
  let proxy: ChildProcess | null = null;

  const containers = async () => {
    const list = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${project}`] } });
    return list.map((c) => ({ id: c.Id, service: c.Labels['com.docker.compose.service']! }));
  };
  const dbId = async () => (await containers()).find((c) => c.service === 'db')!.id;
  /** client_ip of the audit row a request wrote (found by the request id nginx assigned). */
  const auditAddress = async (requestId: string): Promise<string | null> => {
    expect(requestId).to.match(/^[0-9a-f]{32}$/);
    for (let i = 0; i < 20; i++) {
      const r = await execIn(docker, await dbId(), [
        'psql',
        '-X',
        '-q',
        '-At',
        '-U',
        'carebox',
        '-d',
        'carebox',
        '-c',
        `SELECT coalesce(client_ip, '-') FROM audit_events WHERE request_id = '${requestId}'`,
      ]);
      const ip = r.stdout.trim();
      if (ip) return ip === '-' ? null : ip;
      await new Promise((res) => setTimeout(res, 250)); // the audit batcher writes within milliseconds
    }
    throw new Error(`no audit row for request ${requestId}`);
  };

  before(async () => {
    docker = await requireE2ePrereqs();
    tmp = await mkdtemp(join(tmpdir(), 'carebox-e2e-hardening-'));
    root = join(tmp, 'root');
    port = await freePort();
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
    ]);
    expect(r.code, r.stderr).to.equal(0);
    project = r.json.project;
  });

  after(async () => {
    if (proxy && proxy.exitCode === null) proxy.kill('SIGTERM');
    if (root && existsSync(root)) await carebox(['uninstall', '--dir', root, '--purge', '--yes']);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('every service: read-only root, cap_drop ALL and nothing added, no-new-privileges, the planned pids limit, a non-root process 1', async () => {
    const manifest = JSON.parse(readText(join(root, 'carebox.json')));
    const pids = manifest.plan.sizing.pidsLimit as Record<string, number>;
    const list = await containers();
    // The scheduler (scheduled backups, on by default) holds the Docker socket: root-equivalent by
    // design, so it runs as uid 0, yet with no capability, a read-only root and its own pids limit.
    expect(list.map((c) => c.service).sort()).to.deep.equal(['backend', 'db', 'nginx', 'redis', 'scheduler', 'worker']);
    for (const c of list) {
      const info = await docker.getContainer(c.id).inspect();
      const hc = info.HostConfig;
      expect(hc.ReadonlyRootfs, c.service).to.equal(true);
      expect(hc.CapDrop, c.service).to.deep.equal(['ALL']);
      expect(hc.CapAdd ?? [], c.service).to.deep.equal([]);
      expect(hc.SecurityOpt, c.service).to.include('no-new-privileges:true');
      expect(hc.Privileged, c.service).to.equal(false);
      expect(hc.PidsLimit, c.service).to.equal(c.service === 'scheduler' ? SCHEDULER_PIDS : pids[c.service]);
      // The process itself: not root, no effective capabilities, cannot gain any.
      const status = await execIn(docker, c.id, ['cat', '/proc/1/status']);
      const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status.stdout)?.[1]?.trim();
      if (c.service !== 'scheduler') expect(field('Uid')!.split(/\s+/), `${c.service} uid`).to.not.include('0');
      expect(field('CapEff'), `${c.service} CapEff`).to.equal('0000000000000000');
      expect(field('CapBnd'), `${c.service} CapBnd`).to.equal('0000000000000000');
      expect(field('NoNewPrivs'), `${c.service} NoNewPrivs`).to.equal('1');
      // The root filesystem refuses writes; the tmpfs takes them.
      const write = await execIn(docker, c.id, ['sh', '-c', 'touch /usr/carebox-write-test 2>&1; echo rc=$?; touch /tmp/carebox-write-test && echo tmp-ok']);
      expect(write.stdout, c.service)
        .to.match(/Read-only file system/)
        .and.to.match(/rc=1/)
        .and.to.include('tmp-ok');
    }
  });

  it('every service comes back when Docker restarts its container (a crash, an OOM kill): its tmpfs is still writable by its user', async () => {
    // A restart keeps the container, and Docker 20.10 then mounts each tmpfs with the owner and mode
    // of the image's directory under it, not the compose file's `mode=`: PostgreSQL's socket
    // directory must be the postgres user's in the image (as the official image makes it).
    const list = await containers();
    for (const c of list) await docker.getContainer(c.id).restart({ t: 10 });
    const deadline = Date.now() + 180_000;
    const health = async () => Promise.all(list.map(async (c) => ({ service: c.service, state: (await docker.getContainer(c.id).inspect()).State })));
    let states = await health();
    while (Date.now() < deadline && !states.every((x) => x.state.Health?.Status === 'healthy')) {
      await new Promise((res) => setTimeout(res, 2000));
      states = await health();
    }
    for (const x of states)
      expect(`${x.service}: ${x.state.Health?.Status} (restarts ${x.state.Restarting ? 'looping' : 'none'})`).to.equal(`${x.service}: healthy (restarts none)`);
    const sql = await execIn(docker, await dbId(), ['psql', '-X', '-At', '-U', 'carebox', '-d', 'carebox', '-c', 'SELECT 1']);
    expect(sql.stdout.trim(), sql.stderr).to.equal('1');
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(ready.status).to.equal(200);
    for (const c of list) {
      const write = await execIn(docker, c.id, ['sh', '-c', 'touch /tmp/carebox-after-restart && echo tmp-ok']);
      expect(write.stdout, c.service).to.include('tmp-ok');
    }
  });

  it('no service can write unbounded logs: docker inspect shows json-file with the planned max-size and max-file', async () => {
    const logs = JSON.parse(readText(join(root, 'carebox.json'))).plan.sizing.logs as { maxSizeBytes: number; maxFiles: number };
    const list = await containers();
    expect(list.length).to.be.greaterThan(0);
    for (const c of list) {
      const lc = (await docker.getContainer(c.id).inspect()).HostConfig.LogConfig!;
      expect(lc.Type, c.service).to.equal('json-file');
      expect(lc.Config, c.service).to.deep.equal({ 'max-size': `${logs.maxSizeBytes / 1024}k`, 'max-file': String(logs.maxFiles) });
    }
  });

  it('nginx: master and workers unprivileged, on container ports 8080 (the host port unchanged)', async () => {
    const nginx = (await containers()).find((c) => c.service === 'nginx')!;
    const info = await docker.getContainer(nginx.id).inspect();
    expect(info.Config.User).to.equal('101:101');
    const published = Object.entries(info.NetworkSettings.Ports)
      .filter(([, b]) => b && b.length > 0)
      .map(([k]) => k);
    expect(published).to.deep.equal(['8080/tcp']);
    expect(info.NetworkSettings.Ports['8080/tcp']![0]!.HostPort).to.equal(String(port));
    const ps = await execIn(docker, nginx.id, ['ps', '-o', 'uid=,args=', '-e']);
    const nginxProcs = ps.stdout.split('\n').filter((l) => /nginx: (master|worker)/.test(l));
    expect(nginxProcs.length).to.be.greaterThan(1);
    for (const l of nginxProcs) expect(l.trim().split(/\s+/)[0], l).to.equal('101');
  });

  it('no secret in any Cmd, Entrypoint, Args, healthcheck or environment of any service (they read files)', async () => {
    const env = parseEnv(readFileSync(join(root, '.env'), 'utf8')) as Record<string, string>;
    const secrets = [env.POSTGRES_PASSWORD!, env.REDIS_PASSWORD!, env.POSTGRES_APP_PASSWORD!, env.POSTGRES_OWNER_PASSWORD!];
    expect(secrets.every((s) => s.length >= 32)).to.equal(true);
    for (const c of await containers()) {
      const info = await docker.getContainer(c.id).inspect();
      const argv = JSON.stringify([info.Config.Cmd, info.Config.Entrypoint, info.Path, info.Args, info.Config.Healthcheck]);
      for (const s of secrets) expect(argv, `${c.service} argv`).to.not.include(s);
      for (const s of secrets) expect(JSON.stringify(info.Config.Env), `${c.service} env`).to.not.include(s);
    }
    // Nor on the command line of any process in the stack (what `ps` on the host shows).
    for (const c of await containers()) {
      const ps = await execIn(docker, c.id, ['sh', '-c', 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "']);
      for (const s of secrets) expect(ps.stdout, `${c.service} processes`).to.not.include(s);
    }
    // Redis: the password works, nothing else does; the healthcheck user may only PING.
    const redis = (await containers()).find((c) => c.service === 'redis')!;
    expect((await execIn(docker, redis.id, ['redis-cli', '-h', '127.0.0.1', 'ping'])).stdout).to.match(/NOAUTH/);
    expect(
      (await execIn(docker, redis.id, ['redis-cli', '-h', '127.0.0.1', '--user', 'healthcheck', '-a', 'x', '--no-auth-warning', 'get', 'k'])).stdout,
    ).to.match(/NOPERM/);
    expect((await execIn(docker, redis.id, ['redis-cli', '-h', '127.0.0.1', 'ping'], { env: [`REDISCLI_AUTH=${env.REDIS_PASSWORD}`] })).stdout.trim()).to.equal(
      'PONG',
    );
    // The secrets directory is the installing user's alone.
    expect(readFileSync(join(root, 'secrets/postgres-password'), 'utf8')).to.equal(env.POSTGRES_PASSWORD);
    expect(statSync(join(root, 'secrets')).mode & 0o777).to.equal(0o700);
  });

  it('--trusted-proxy: behind the hospital proxy the audit row has the client address; a forged X-Forwarded-For from anyone else is ignored', async () => {
    // Before: no trusted proxy, so a request through the hospital proxy is recorded with the proxy's address.
    const net = (await docker.getNetwork(`${project}_internal`).inspect()) as { IPAM: { Config: { Gateway: string }[] } };
    const gateway = net.IPAM.Config[0]!.Gateway;
    expect(gateway).to.match(/^\d+\.\d+\.\d+\.\d+$/);

    // The hospital's proxy: the host's nginx, appending the client's address as such proxies do.
    const proxyPort = await freePort();
    const prefix = join(tmp, 'hospital-proxy');
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    writeFileSync(
      join(prefix, 'nginx.conf'),
      `worker_processes 1;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/logs/error.log warn;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;\n  server {\n    listen 127.0.0.1:${proxyPort};\n    location / {\n      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n      proxy_pass http://127.0.0.1:${port};\n    }\n  }\n}\n`,
    );
    proxy = spawn('nginx', ['-p', prefix, '-e', join(prefix, 'logs/error.log'), '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    for (let i = 0; i < 40; i++) {
      const up = await failedSignIn(proxyPort, '127.0.0.1', '198.51.100.1').then(
        () => true,
        () => false,
      );
      if (up) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const before = await failedSignIn(proxyPort, '127.0.0.7', '203.0.113.50');
    expect(before.status).to.equal(401);
    expect(await auditAddress(before.requestId), 'without --trusted-proxy the proxy is the client').to.equal(gateway);

    // Trust exactly the hospital proxy (as the stack sees it), re-run install; nginx reloads.
    const bad = await carebox(['install', '--yes', '--json', '--dir', root, '--trusted-proxy', '0.0.0.0/0']);
    expect(bad.code, bad.stderr).to.equal(2);
    const r = await carebox(['install', '--yes', '--json', '--dir', root, '--trusted-proxy', `${gateway}/32`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(readText(join(root, 'carebox.json'))).http.trustedProxies).to.deep.equal([`${gateway}/32`]);
    expect(readText(join(root, 'nginx/nginx.conf'))).to.include(`set_real_ip_from ${gateway}/32;`);

    // Through the proxy from 127.0.0.7, lying in its own X-Forwarded-For: the proxy appends the
    // real address, nginx stops at the first untrusted address from the right, so the lie is ignored.
    const via = await failedSignIn(proxyPort, '127.0.0.7', '203.0.113.50');
    expect(via.status).to.equal(401);
    expect(await auditAddress(via.requestId)).to.equal('127.0.0.7');
    const other = await failedSignIn(proxyPort, '127.0.0.8', '203.0.113.50, 10.1.2.3');
    expect(await auditAddress(other.requestId)).to.equal('127.0.0.8');

    // A client that is not a trusted proxy (a container on the stack network, straight to nginx)
    // forges X-Forwarded-For: its own address is recorded.
    const out = await exec(
      [
        'docker',
        'run',
        '--rm',
        '--network',
        `${project}_internal`,
        '--entrypoint',
        'sh',
        JSON.parse(readText(STANDINS)).nginx,
        '-c',
        `hostname -i; curl -s -o /dev/null -D - -X POST -H 'content-type: application/json' -H 'X-Forwarded-For: 203.0.113.66' --data '{"username":"probe-direct","password":"not-the-password-1"}' http://nginx:8080/api/v1/auth/login | tr -d '\\r' | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p'`,
      ],
      { timeoutMs: 120_000 },
    );
    const [ownIp, requestId] = out.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim());
    expect(ownIp).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await auditAddress(requestId!)).to.equal(ownIp);

    // A re-run without the flag keeps the setting; `none` clears it.
    const again = await carebox(['install', '--yes', '--json', '--dir', root, '--render-only']);
    expect(again.code, again.stderr).to.equal(0);
    expect(readText(join(root, 'nginx/nginx.conf'))).to.include(`set_real_ip_from ${gateway}/32;`);
    expect(JSON.parse(readText(join(root, 'carebox.json'))).http.trustedProxies).to.deep.equal([`${gateway}/32`]);
  });
});
