import { expect } from 'chai';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentContents, putBackFiles } from '../../../../console/ops/stack.render.js';
import type { RenderedFile } from '../../../../installer/render/render.js';

describe('stack.render: putting the files of a failed change back', () => {
  let root = '';
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'carebox-putback-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const file = (path: string, content: string, mode = 0o644): RenderedFile => ({ path, content, mode }) as RenderedFile;

  it('writes back each overwritten file with its mode, keeps the paths asked for, and leaves files that did not exist before', async () => {
    await writeFile(join(root, 'compose.yml'), 'old compose\n');
    await writeFile(join(root, '.env'), 'OLD=1\n');
    const files = [file('compose.yml', 'new compose\n'), file('.env', 'NEW=1\n', 0o600), file('pgbouncer.ini', 'new pgbouncer\n')];
    const previous = await currentContents(root, files);
    expect(previous.get('pgbouncer.ini')).to.equal(null);
    for (const f of files) await writeFile(join(root, f.path), f.content);

    await putBackFiles(root, previous, files, ['.env']);
    expect(await readFile(join(root, 'compose.yml'), 'utf8')).to.equal('old compose\n');
    expect((await stat(join(root, 'compose.yml'))).mode & 0o777).to.equal(0o644);
    expect(await readFile(join(root, '.env'), 'utf8')).to.equal('NEW=1\n');
    expect(existsSync(join(root, 'pgbouncer.ini'))).to.equal(true);
  });
});
