/**
 * Issue 5 on the real engine: the offline (air-gapped) route. `bundle create` saves every image of
 * an install with the templates; after the image tags are removed from the engine, `install
 * --bundle` on a fresh root loads them through the Docker API and brings the stack up, and
 * `upgrade --bundle` loads the same file.
 *
 * The stand-in tags are shared with every other test (and colleagues' runs on this engine), so the
 * install uses aliases made for this run (docker tag of the stand-ins and of the server image);
 * removing those aliases removes the tags the bundle must bring back, and nothing else.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import * as tar from 'tar';
import { ensureServerImage, imageExists } from '../../installer/apply/images.ensure.js';
import { MONITORING_IMAGES } from '../../installer/render/images.map.js';
import { CAREBOX_VERSION } from '../../installer/version.js';
import { carebox, freePort, get, readText, REPO, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';
import { installTestStack, teardownTestStack, type TestStack } from './ops.helpers.js';

describe('e2e: offline bundle → install --bundle on the real engine', function () {
  this.timeout(900_000);
  let docker: Docker;
  let source: TestStack | null = null;
  let base = '';
  let target = '';
  const id = randomBytes(4).toString('hex');
  const aliases: Record<string, string> = {};
  let bundle = '';

  before(async () => {
    docker = await requireE2ePrereqs();
    base = await mkdtemp(join(tmpdir(), 'carebox-bundle-e2e-'));
    // The server image an install would build from this package (built here if missing).
    const standins = JSON.parse(readText(STANDINS)) as Record<string, string>;
    const server = await ensureServerImage(docker, { packageRoot: REPO, version: CAREBOX_VERSION, nodeImage: standins.node!, onProgress: () => undefined });
    for (const [role, ref] of Object.entries({ ...standins, server })) {
      const repo = `carebox-e2e-bundle-${id}/${role.toLowerCase()}`;
      await docker.getImage(ref).tag({ repo, tag: 'v1' });
      aliases[role] = `${repo}:v1`;
    }
    const file = join(base, 'images.json');
    await writeFile(file, JSON.stringify(aliases));
    // The later --images wins: the source stack runs only this run's aliases.
    source = await installTestStack('bundle-src', 'default', ['--images', file]);
  });

  after(async () => {
    await teardownTestStack(source);
    if (target && existsSync(target)) await carebox(['uninstall', '--dir', target, '--purge', '--yes']);
    for (const ref of Object.values(aliases))
      await docker
        .getImage(ref)
        .remove({ noprune: true })
        .catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  });

  it('bundle create saves every image of the install, the templates and an index', async () => {
    bundle = join(base, 'carebox.tar.gz');
    const r = await carebox(['bundle', 'create', '--output', bundle, '--json', '--dir', source!.root]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.images).to.include({ postgres: aliases.postgres, redis: aliases.redis, nginx: aliases.nginx, server: aliases.server });
    // restic travels with the stack (off-host copies and `restore --from-restic` on the air-gapped host),
    // and so do Prometheus, Alertmanager and the exporters when the source stack runs them.
    expect(r.json.images.restic).to.equal(aliases.restic);
    const m = JSON.parse(readText(join(source!.root, 'carebox.json')));
    if (m.plan.sizing.monitoring) for (const role of MONITORING_IMAGES) expect(r.json.images[role], role).to.equal(aliases[role]);
    const entries: string[] = [];
    await tar.t({ file: bundle, onReadEntry: (e) => entries.push(e.path) });
    expect(entries).to.include.members([
      'carebox-bundle.json',
      'images.tar',
      'templates/compose-templates/carebox.compose.yml',
      'templates/nginx/nginx.conf.eta',
    ]);
  });

  it('with the image tags gone, install --bundle on a fresh root loads them and serves', async () => {
    await carebox(['uninstall', '--dir', source!.root, '--purge', '--yes']);
    for (const ref of Object.values(aliases)) {
      await docker.getImage(ref).remove({ noprune: true });
      expect(await imageExists(docker, ref), ref).to.equal(false);
    }
    target = join(base, 'target');
    const port = await freePort();
    const r = await carebox([
      'install',
      '--yes',
      '--json',
      '--dir',
      target,
      '--tier',
      'default',
      '--http-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--bundle',
      bundle,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/loaded from bundle/);
    for (const role of ['postgres', 'redis', 'nginx', 'server', 'restic']) expect(await imageExists(docker, aliases[role]!), role).to.equal(true);
    const m = JSON.parse(readText(join(target, 'carebox.json')));
    expect(m.images.server).to.equal(aliases.server);
    expect(m.images.postgres).to.equal(aliases.postgres);
    expect(m.images.restic, "the install records the bundle's restic").to.equal(aliases.restic);
    expect((await get(`http://127.0.0.1:${port}/ready`)).status).to.equal(200);
  });

  it('upgrade --bundle loads the same file and finds nothing to change', async () => {
    const r = await carebox(['upgrade', '--bundle', bundle, '--json', '--dir', target]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.to).to.deep.equal(r.json.from);
  });

  it('a corrupt bundle is refused before anything changes', async () => {
    const bad = join(base, 'bad.tar');
    await writeFile(bad, 'not a tar file');
    const r = await carebox([
      'install',
      '--yes',
      '--json',
      '--dir',
      join(base, 'nothing'),
      '--bundle',
      bad,
      '--bind',
      '127.0.0.1',
      '--http-port',
      String(await freePort()),
    ]);
    expect(r.code).to.not.equal(0);
    expect(r.json.error.message).to.match(/bundle/);
  });
});
