import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('ui: loadInteractiveUi', () => {
  it('lets Ink draw live under an inherited CI=1 and restores the environment afterwards', async () => {
    // A fresh process: is-in-ci (Ink's check) is evaluated once per process, at first import.
    const script = `
      import { loadInteractiveUi } from './installer/ui/load.ui.ts';
      const url = import.meta.resolve('is-in-ci');
      const before = await import(url);
      // a second instance of the module (query string), evaluated with the guard in place
      const masked = await loadInteractiveUi(() => import(url + '?masked'));
      console.log(JSON.stringify({ before: before.default, masked: masked.default, ci: process.env.CI, cont: process.env.CONTINUOUS_INTEGRATION ?? null }));
    `;
    const { stdout } = await run(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, CI: '1', CONTINUOUS_INTEGRATION: undefined, TSX_TSCONFIG_PATH: 'tsconfig.test.json' },
    });
    expect(JSON.parse(stdout.trim())).to.deep.equal({ before: true, masked: false, ci: '1', cont: null });
  });
});
