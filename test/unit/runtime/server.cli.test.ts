import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DIRECT_DB_ENV, SERVER_SCRIPTS, serverCommand } from '../../../installer/runtime/server.cli.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

describe('server.cli: the server image programs, named once', () => {
  it('names a script the build produces for each program (the image copies dist/server)', () => {
    for (const [name, script] of Object.entries(SERVER_SCRIPTS)) {
      const source = `${REPO}${script.replace(/^dist\//, '').replace(/\.js$/, '.ts')}`;
      expect(existsSync(source), `${name}: ${source}`).to.equal(true);
    }
  });

  it('builds node command lines and keeps one-off runs off PgBouncer', () => {
    expect(serverCommand('demoData', ['--remove', '--tenant', 't1'])).to.deep.equal(['node', 'dist/server/src/demo-data.js', '--remove', '--tenant', 't1']);
    expect(DIRECT_DB_ENV).to.deep.equal({ DATABASE_HOST: 'db', DATABASE_PORT: '5432', DB_PGBOUNCER: 'false' });
  });

  it("matches the server image's CMD", () => {
    expect(readFileSync(`${REPO}server/Dockerfile`, 'utf8')).to.include(SERVER_SCRIPTS.main);
  });
});
