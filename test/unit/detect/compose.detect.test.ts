import { expect } from 'chai';
import { composeFlavour, detectCompose, parseComposeVersion } from '../../../installer/detect/compose.detect.js';

describe('detect/compose.detect', () => {
  describe('parseComposeVersion', () => {
    const cases: [string, string][] = [
      ['2.26.1-4\n', '2.26.1'], // Debian's docker-compose 2.26 package
      ['v2.20.2\n', '2.20.2'], // upstream plugin
      ['1.29.2\n', '1.29.2'], // Debian 12's docker-compose (v1)
      ['Docker Compose version v2.26.1\n', '2.26.1'],
      ['docker-compose version 1.29.2, build unknown\n', '1.29.2'],
      ['2.24.6-desktop.1', '2.24.6'],
    ];
    for (const [text, v] of cases) it(`${JSON.stringify(text)} → ${v}`, () => expect(parseComposeVersion(text)).to.deep.equal({ ok: true, value: v }));
    it('fails without a version', () => {
      expect(parseComposeVersion('').ok).to.equal(false);
      expect(parseComposeVersion("docker: 'compose' is not a docker command.").ok).to.equal(false);
    });
  });

  it('composeFlavour: the plugin is v2-plugin; a binary is v1 or v2 by major version', () => {
    expect(composeFlavour('plugin', '2.26.1')).to.equal('v2-plugin');
    expect(composeFlavour('binary', '1.29.2')).to.equal('v1-binary');
    expect(composeFlavour('binary', '2.20.2')).to.equal('v2-binary');
  });

  it('with neither docker nor docker-compose on PATH: flavour null, says what each attempt found and how to install', async () => {
    const f = await detectCompose({ env: { PATH: '/nonexistent' } });
    expect(f).to.include({ flavour: null, version: null });
    expect(f.command).to.deep.equal([]);
    expect(f.error).to.contain('`docker compose version`: docker is not installed');
    expect(f.error).to.contain('`docker-compose version`: docker-compose is not installed');
    expect(f.error).to.contain('install the Compose v2 plugin');
  });
});
