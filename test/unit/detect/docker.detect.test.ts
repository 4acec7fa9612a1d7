import http from 'node:http';
import net from 'node:net';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { DockerFact } from '../../../installer/detect/host-facts.js';
import {
  CLIENT_MAX_API_VERSION,
  compareApiVersions,
  describeDockerError,
  detectDocker,
  dockerEndpoint,
  negotiateApiVersion,
} from '../../../installer/detect/docker.detect.js';
import { detectAsNobody, isRoot } from './unprivileged.js';

describe('detect/docker.detect', () => {
  describe('dockerEndpoint', () => {
    it('defaults to /var/run/docker.sock', () => {
      expect(dockerEndpoint({})).to.deep.equal({ ok: true, value: { endpoint: '/var/run/docker.sock', socketPath: '/var/run/docker.sock' } });
    });
    it('reads unix:// and tcp:// (TLS by DOCKER_TLS_VERIFY or port 2376)', () => {
      expect(dockerEndpoint({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).to.deep.equal({
        ok: true,
        value: { endpoint: '/run/user/1000/docker.sock', socketPath: '/run/user/1000/docker.sock' },
      });
      expect(dockerEndpoint({ DOCKER_HOST: 'tcp://10.0.0.5:2375' })).to.deep.equal({
        ok: true,
        value: { endpoint: 'tcp://10.0.0.5:2375', host: '10.0.0.5', port: '2375', protocol: 'http' },
      });
      expect(dockerEndpoint({ DOCKER_HOST: 'tcp://d:2376', DOCKER_CERT_PATH: '/certs' })).to.deep.equal({
        ok: true,
        value: { endpoint: 'tcp://d:2376', host: 'd', port: '2376', protocol: 'https', certPath: '/certs' },
      });
    });
    it('refuses ssh:// and nonsense with a fix', () => {
      const r = dockerEndpoint({ DOCKER_HOST: 'ssh://me@host' });
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.reason).to.contain('unix socket or tcp://');
      expect(dockerEndpoint({ DOCKER_HOST: 'tcp://[::' }).ok).to.equal(false);
    });
  });

  describe('API version negotiation', () => {
    it('compares versions numerically', () => {
      expect(compareApiVersions('1.9', '1.41')).to.equal(-1);
      expect(compareApiVersions('1.41', '1.41')).to.equal(0);
      expect(compareApiVersions('1.43', '1.41')).to.equal(1);
    });
    it('never exceeds the engine (Debian 12 docker.io 20.10 speaks 1.41)', () => {
      expect(negotiateApiVersion('1.41', '1.12')).to.equal('1.41');
      expect(negotiateApiVersion('1.24', null)).to.equal('1.24');
    });
    it('caps at the client maximum for newer engines', () => {
      expect(negotiateApiVersion('1.51', '1.24')).to.equal(CLIENT_MAX_API_VERSION);
    });
    it('rises to the engine minimum when the engine refuses older clients', () => {
      expect(negotiateApiVersion('1.60', '1.50', '1.47')).to.equal('1.50');
    });
  });

  describe('describeDockerError', () => {
    it('permission denied names the docker group and root, in one line', () => {
      const msg = describeDockerError(Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' }), '/var/run/docker.sock', 3000);
      expect(msg).to.contain('add your user to the docker group');
      expect(msg).to.contain('run as root');
      expect(msg).to.not.contain('\n');
    });
    it('an HTTP error keeps the status and first line', () => {
      const err = Object.assign(new Error('(HTTP code 400) bad request - client version 1.47 is too new\nmore'), { statusCode: 400 });
      expect(describeDockerError(err, '/s', 3000)).to.equal(
        'the Docker engine at /s answered HTTP 400: (HTTP code 400) bad request - client version 1.47 is too new',
      );
    });
  });

  describe('against real sockets', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'carebox-docker-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('a missing socket: unreachable, says to install/start Docker, quickly', async () => {
      const t = Date.now();
      const f = await detectDocker({ env: { DOCKER_HOST: `unix://${dir}/none.sock` } });
      expect(f.reachable).to.equal(false);
      expect(f.error).to.contain('no Docker socket at');
      expect(f.error).to.contain('systemctl start docker');
      expect(Date.now() - t).to.be.below(1000);
    });

    it('a socket that accepts but never answers: gives up within the bound', async () => {
      const sock = join(dir, 'hang.sock');
      const held: net.Socket[] = [];
      const server = net.createServer((c) => held.push(c));
      await new Promise<void>((r) => server.listen(sock, r));
      try {
        const t = Date.now();
        const f = await detectDocker({ env: { DOCKER_HOST: `unix://${sock}` }, timeoutMs: 300 });
        expect(f.reachable).to.equal(false);
        expect(f.error).to.equal(`the Docker engine at ${sock} did not answer within 300 ms: check that dockerd is healthy (sudo systemctl status docker)`);
        expect(Date.now() - t).to.be.below(1500);
      } finally {
        held.forEach((c) => c.destroy());
        server.close();
      }
    });

    it('a socket without permission (EACCES): an actionable error, no stack trace', async function () {
      const sock = join(dir, 'private.sock');
      const server = net.createServer((c) => c.destroy());
      await new Promise<void>((r) => server.listen(sock, r));
      try {
        await chmod(dir, 0o755);
        await chmod(sock, 0o600);
        let f: DockerFact;
        if (isRoot) {
          // Root bypasses file permissions, so ask as `nobody`, as an operator outside the docker group would.
          f = await detectAsNobody<DockerFact>({ what: 'docker', env: { DOCKER_HOST: `unix://${sock}` } });
        } else {
          await chmod(sock, 0o000);
          f = await detectDocker({ env: { DOCKER_HOST: `unix://${sock}` } });
        }
        expect(f.reachable).to.equal(false);
        expect(f.error).to.equal(
          `permission denied on the Docker socket ${sock}: add your user to the docker group (sudo usermod -aG docker "$USER", then log in again) or run as root`,
        );
      } finally {
        server.close();
      }
    });

    /**
     * The real engine on this machine speaks only API 1.41, so this one checks the other side of
     * negotiation: an engine that answers the unversioned /version with an older API (1.24) and,
     * like dockerd, rejects any newer versioned path with HTTP 400 "client version is too new".
     */
    it('negotiates down to an older engine and never sends a newer version', async () => {
      const sock = join(dir, 'old-engine.sock');
      const paths: string[] = [];
      const server = http.createServer((req, res) => {
        paths.push(req.url ?? '');
        const url = req.url ?? '';
        const m = /^\/v(\d+\.\d+)\//.exec(url);
        if (m && compareApiVersions(m[1] as string, '1.24') > 0) {
          res.writeHead(400, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ message: `client version ${m[1]} is too new. Maximum supported API version is 1.24` }));
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        if (url.endsWith('/version')) return res.end(JSON.stringify({ Version: '1.12.6', ApiVersion: '1.24', MinAPIVersion: '1.12' }));
        if (url.endsWith('/info'))
          return res.end(
            JSON.stringify({ DockerRootDir: '/srv/docker', CgroupDriver: 'systemd', Swarm: { LocalNodeState: 'active', ControlAvailable: true } }),
          );
        res.end('{}');
      });
      await new Promise<void>((r) => server.listen(sock, r));
      try {
        const f = await detectDocker({ env: { DOCKER_HOST: `unix://${sock}` } });
        expect(paths).to.deep.equal(['/version', '/v1.24/info']);
        expect(f).to.include({
          reachable: true,
          engineVersion: '1.12.6',
          apiVersion: '1.24',
          minApiVersion: '1.12',
          negotiatedApiVersion: '1.24',
          dataRoot: '/srv/docker',
          cgroupDriver: 'systemd',
          cgroupVersion: null,
          swarmActive: true,
          swarmNodeState: 'active',
          error: null,
        });
      } finally {
        server.close();
      }
    });
  });
});
