import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pruneConfigBackups } from '../../../installer/manifest/manifest.js';

describe('apply: config backups are pruned', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'carebox-prune-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps the newest config-<stamp> folders and never touches full backups or other files', async () => {
    const dir = join(root, 'backups');
    const stamps = ['20261101T000000Z', '20261102T000000Z', '20261103T000000Z', '20261104T000000Z'];
    for (const st of stamps) {
      await mkdir(join(dir, `config-${st}`), { recursive: true });
      await writeFile(join(dir, `config-${st}`, 'carebox.json'), '{}');
    }
    await mkdir(join(dir, '20261101T000000Z'), { recursive: true }); // a full backup
    await writeFile(join(dir, 'notes.txt'), 'keep');
    const removed = await pruneConfigBackups(root, 2);
    expect(removed).to.deep.equal(['config-20261101T000000Z', 'config-20261102T000000Z']);
    expect((await readdir(dir)).sort()).to.deep.equal(['20261101T000000Z', 'config-20261103T000000Z', 'config-20261104T000000Z', 'notes.txt']);
  });

  it('does nothing without a backups folder', async () => {
    expect(await pruneConfigBackups(root, 2)).to.deep.equal([]);
  });
});
