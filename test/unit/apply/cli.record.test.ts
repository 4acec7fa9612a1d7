import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockIdentity } from '../../../installer/runtime/stack.lock.js';
import { formatVersions, runningCli, versionReport, writeCliImageFile } from '../../../installer/manifest/cli.record.js';
import { CAREBOX_VERSION } from '../../../installer/version.js';

describe('the CLI record (release CLI image, versions, lock identity)', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carebox-cli-record-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('the running CLI has an image only when the launcher named a pinned one', () => {
    expect(runningCli({})).to.deep.equal({ version: CAREBOX_VERSION, image: null });
    expect(runningCli({ CAREBOX_CLI_IMAGE: 'carebox/cli:0.2.0' })).to.deep.equal({ version: CAREBOX_VERSION, image: 'carebox/cli:0.2.0' });
    expect(runningCli({ CAREBOX_CLI_IMAGE: 'carebox/cli:latest' }).image).to.equal(null);
  });

  it('cli-image is written for an image, never for the source route; versions read carebox.json', async () => {
    await writeCliImageFile(dir, { version: '0.1.0', image: null });
    await readFile(join(dir, 'cli-image'), 'utf8').then(
      () => expect.fail('written for the source route'),
      (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ENOENT'),
    );
    await writeCliImageFile(dir, { version: '0.2.0', image: 'carebox/cli:0.2.0' });
    expect(await readFile(join(dir, 'cli-image'), 'utf8')).to.equal('carebox/cli:0.2.0\n');
    expect(versionReport(join(dir, 'nothing'), {}).stack).to.equal(null);
    await writeFile(
      join(dir, 'carebox.json'),
      JSON.stringify({ carebox: { version: '0.2.0' }, images: { server: 'carebox/server:0.2.0' }, cli: { version: '0.2.0', image: 'carebox/cli:0.2.0' } }),
    );
    const v = versionReport(dir, { CAREBOX_CLI_IMAGE: 'carebox/cli:0.2.0' });
    expect(v.stack).to.deep.equal({ root: dir, version: '0.2.0', server: 'carebox/server:0.2.0', cli: { version: '0.2.0', image: 'carebox/cli:0.2.0' } });
    expect(formatVersions(v)).to.equal(`carebox CLI ${CAREBOX_VERSION} (image carebox/cli:0.2.0)\nstack 0.2.0 at ${dir} (server carebox/server:0.2.0)`);
    expect(formatVersions(versionReport(join(dir, 'nothing'), {}))).to.match(/\(from source\)\nstack: no install found/);
  });

  it("the operation lock names the launcher's host pid in the CLI container, and reads its liveness from the host /proc", async () => {
    expect(lockIdentity({}).pid).to.equal(process.pid);
    const host = join(dir, 'host');
    await writeFile(join(dir, 'placeholder'), '');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(host, 'proc', '812'), { recursive: true });
    const id = lockIdentity({ CAREBOX_HOST_ROOT: host, CAREBOX_HOST_PID: '812' });
    expect(id.pid).to.equal(812);
    expect(id.alive(812)).to.equal(true);
    expect(id.alive(813)).to.equal(false);
  });
});
