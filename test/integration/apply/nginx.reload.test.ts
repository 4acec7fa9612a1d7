/**
 * nginx reloads against a real nginx (the stand-in image) in a container labelled as a stack's
 * nginx service, with the install root's nginx/ mounted where the compose template mounts it: a
 * config `nginx -t` accepts is reloaded; one it rejects is never loaded, and the previous file is
 * put back on disk when the caller knows it (install re-runs and live config changes do), with a
 * message that says which of the two happened.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type Docker from 'dockerode';
import { execIn } from '../../../installer/runtime/container.exec.js';
import { connectDocker } from '../../../installer/runtime/docker.connect.js';
import { NGINX_CONF_IN_CONTAINER, NginxConfigError, reloadNginx, reloadNginxOrRevert } from '../../../installer/runtime/nginx.reload.js';
import { LABEL_NUMBER, LABEL_PROJECT, LABEL_SERVICE } from '../../../installer/runtime/stack.containers.js';
import { INSTALL_FILES } from '../../../installer/paths.js';
import { STANDINS } from '../../e2e/e2e.helpers.js';

const conf = (body: string): string =>
  `pid /tmp/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n  access_log off;\n  server { listen 8080; location / { return 200 "${body}"; } }\n}\n`;

describe('nginx reload (test, reload, put back) against a real nginx', function () {
  this.timeout(120_000);
  let docker: Docker;
  let root = '';
  let id = '';
  const project = `carebox-ngx-${randomBytes(3).toString('hex')}`;

  const serving = async (): Promise<string> => (await execIn(docker, id, ['curl', '-s', 'http://127.0.0.1:8080/'], { timeoutMs: 10_000 })).stdout;
  const waitServing = async (body: string): Promise<void> => {
    for (let i = 0; i < 50 && (await serving()) !== body; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await serving()).to.equal(body);
  };

  before(async () => {
    docker = (await connectDocker()).docker;
    const image = (JSON.parse(await readFile(STANDINS, 'utf8')) as Record<string, string>).nginx!;
    root = await mkdtemp(join(tmpdir(), 'carebox-ngx-'));
    await mkdir(join(root, 'nginx'));
    await chmod(root, 0o755);
    await writeFile(join(root, INSTALL_FILES.nginx), conf('v1'));
    const c = await docker.createContainer({
      Image: image,
      Cmd: ['nginx', '-g', 'daemon off;', '-c', NGINX_CONF_IN_CONTAINER],
      Labels: { [LABEL_PROJECT]: project, [LABEL_SERVICE]: 'nginx', [LABEL_NUMBER]: '1' },
      HostConfig: { Binds: [`${join(root, 'nginx')}:/etc/nginx/carebox:ro`], NetworkMode: 'none' },
    });
    id = c.id;
    await c.start();
    await waitServing('v1');
  });

  after(async () => {
    if (id)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  it('reloads a config that nginx -t accepts', async () => {
    await writeFile(join(root, INSTALL_FILES.nginx), conf('v2'));
    const r = await reloadNginx(docker, project);
    expect(r.containers).to.equal(1);
    await waitServing('v2');
  });

  it('puts the previous file back when nginx -t rejects the new one, and says so', async () => {
    await mkdir(join(root, 'backups/config-x/nginx'), { recursive: true });
    await writeFile(join(root, 'backups/config-x', INSTALL_FILES.nginx), conf('v2'));
    await writeFile(join(root, INSTALL_FILES.nginx), conf('v3').replace('listen 8080;', 'listen 8080; no_such_directive on;'));
    const err = await reloadNginxOrRevert(docker, { root, project }, [
      { path: INSTALL_FILES.nginx, status: 'updated', backup: `backups/config-x/${INSTALL_FILES.nginx}` },
    ]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NginxConfigError);
    expect((err as NginxConfigError).reverted).to.equal(true);
    expect((err as NginxConfigError).message).to.match(/unknown directive "no_such_directive"/);
    expect((err as NginxConfigError).hint).to.match(/previous nginx.conf was put back/);
    expect(await readFile(join(root, INSTALL_FILES.nginx), 'utf8')).to.equal(conf('v2'));
    expect(await serving()).to.equal('v2');
  });

  it('without a previous version to put back, leaves the file and does not claim it was put back', async () => {
    const bad = conf('v4').replace('listen 8080;', 'listen 8080; no_such_directive on;');
    await writeFile(join(root, INSTALL_FILES.nginx), bad);
    const err = await reloadNginx(docker, project).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NginxConfigError);
    expect((err as NginxConfigError).reverted).to.equal(false);
    expect((err as NginxConfigError).hint).to.not.match(/put back and/);
    expect(await readFile(join(root, INSTALL_FILES.nginx), 'utf8')).to.equal(bad);
    expect(await serving()).to.equal('v2');
  });
});
