import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { bundleCli, bundleImages, bundleIndexSchema, readBundleIndex } from '../../../installer/apply/bundle.load.js';
import { UsageError } from '../../../installer/errors.js';
import { DEFAULT_IMAGES, MONITORING_IMAGES } from '../../../installer/render/images.map.js';
import { releaseBaseRoles } from '../../../console/ops/release.ops.js';

const index = {
  schemaVersion: 1,
  kind: 'carebox-bundle',
  createdAt: '2026-11-29T09:00:00.000Z',
  carebox: { version: '0.1.0' },
  images: { postgres: 'carebox-standin/postgres:15', server: 'carebox/server:0.1.0-abc' },
  imageIds: { 'carebox/server:0.1.0-abc': `sha256:${'a'.repeat(64)}` },
  imagesTar: { path: 'images.tar', sha256: 'b'.repeat(64), bytes: 10 },
  templates: { 'nginx/nginx.conf.eta': 'c'.repeat(64) },
};

describe('offline bundle index', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carebox-bundle-unit-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts a bundle with only some roles and fills the rest with the pinned defaults', () => {
    const parsed = bundleIndexSchema.parse(index);
    const images = bundleImages(parsed);
    expect(images.server).to.equal('carebox/server:0.1.0-abc');
    expect(images.postgres).to.equal('carebox-standin/postgres:15');
    expect(images.redis).to.match(/^redis:/);
  });

  it("a release bundle carries the CLI image: not a stack image, but the CLI of the bundle's version", () => {
    const parsed = bundleIndexSchema.parse({ ...index, carebox: { version: '0.2.0' }, images: { ...index.images, cli: 'carebox/cli:0.2.0' } });
    expect(bundleImages(parsed)).to.not.have.property('cli');
    expect(bundleCli(parsed)).to.deep.equal({ image: 'carebox/cli:0.2.0', version: '0.2.0' });
    expect(bundleCli(bundleIndexSchema.parse(index))).to.equal(null);
    expect(bundleIndexSchema.safeParse({ ...index, images: { ...index.images, cli: 'carebox/cli:latest' } }).success).to.equal(false);
  });

  it('a release bundle carries every image a default install runs: the stack, monitoring and restic (pinned defaults unless given)', () => {
    const roles = Object.fromEntries(releaseBaseRoles({ ...DEFAULT_IMAGES, postgres: 'carebox-standin/postgres:15', restic: 'carebox-standin/restic:0.14' }));
    expect(Object.keys(roles).sort()).to.deep.equal(['nginx', 'pgbouncer', 'postgres', 'redis', 'restic', ...MONITORING_IMAGES].sort());
    expect(roles).to.include({ postgres: 'carebox-standin/postgres:15', restic: 'carebox-standin/restic:0.14', prometheus: DEFAULT_IMAGES.prometheus });
    const { restic: _r, prometheus: _p, ...older } = DEFAULT_IMAGES;
    expect(Object.fromEntries(releaseBaseRoles(older))).to.include({ restic: DEFAULT_IMAGES.restic, prometheus: DEFAULT_IMAGES.prometheus });
    // The index takes the restic role, and an install from it records the bundle's restic.
    const parsed = bundleIndexSchema.parse({ ...index, images: { ...index.images, restic: 'carebox-standin/restic:0.14' } });
    expect(bundleImages(parsed).restic).to.equal('carebox-standin/restic:0.14');
  });

  it('rejects an index without a server image, with :latest, or with unknown roles', () => {
    expect(bundleIndexSchema.safeParse({ ...index, images: { postgres: 'postgres:15' } }).success).to.equal(false);
    expect(bundleIndexSchema.safeParse({ ...index, images: { ...index.images, server: 'carebox/server:latest' } }).success).to.equal(false);
    expect(bundleIndexSchema.safeParse({ ...index, images: { ...index.images, mysql: 'mysql:8' } }).success).to.equal(false);
  });

  it('reads the index out of a tar.gz without extracting the rest; refuses non-bundles with usage errors', async () => {
    const src = join(dir, 'src');
    await (await import('node:fs/promises')).mkdir(src);
    await writeFile(join(src, 'carebox-bundle.json'), JSON.stringify(index));
    await writeFile(join(src, 'images.tar'), 'x'.repeat(10));
    const file = join(dir, 'b.tar.gz');
    await tar.c({ file, cwd: src, gzip: true }, ['carebox-bundle.json', 'images.tar']);
    expect((await readBundleIndex(file)).images.server).to.equal('carebox/server:0.1.0-abc');
    const notTar = join(dir, 'x.tar');
    await writeFile(notTar, 'hello');
    for (const f of [notTar, join(dir, 'missing.tar')]) {
      let err: unknown;
      try {
        await readBundleIndex(f);
      } catch (e) {
        err = e;
      }
      expect(err, f).to.be.instanceOf(UsageError);
    }
  });
});
