import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { detectDisk } from '../../../installer/detect/disk.detect.js';

describe('detect/disk.detect', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carebox-disk-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('measures an existing directory with statfs', async () => {
    const f = await detectDisk(dir);
    const s = await statfs(dir);
    expect(f).to.not.equal(null);
    expect(f?.path).to.equal(dir);
    expect(f?.measuredPath).to.equal(dir);
    expect(f?.totalBytes).to.equal(s.blocks * s.bsize);
    expect(f?.freeBytes)
      .to.be.above(0)
      .and.at.most(f?.totalBytes ?? 0);
    expect(f?.source).to.equal(`statfs(${dir})`);
  });

  it('walks up to the nearest existing ancestor for an install root that does not exist yet', async () => {
    const f = await detectDisk(join(dir, 'opt', 'carebox'));
    expect(f?.path).to.equal(join(dir, 'opt', 'carebox'));
    expect(f?.measuredPath).to.equal(dir);
    expect(f?.source).to.equal(`statfs(${dir}), nearest existing ancestor`);
  });

  it('resolves relative paths against the working directory', async () => {
    const f = await detectDisk('.');
    expect(f?.path).to.equal(process.cwd());
  });
});
