import { expect } from 'chai';
import { NGINX_IMAGE_HINT, nginxImageProblem, nginxVersionFromText } from '../../../installer/apply/nginx.version.js';
import { DEFAULT_IMAGES } from '../../../installer/render/images.map.js';
import { MIN_NGINX_VERSION, NGINX_UPSTREAM_KEEPALIVE_TIMEOUT_S } from '../../../installer/plan/sizing.constants.js';
import { nginxUpstream } from '../../../installer/plan/service.sizing.js';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../../server/src/lifecycle/web.process.js';
import { parse } from 'yaml';
import { fileOf, planFor, renderFor } from '../render/render.helpers.js';

describe('apply: nginx version of an image (issue 12)', () => {
  it('reads the version from `nginx -v` output, with or without a distribution suffix', () => {
    expect(nginxVersionFromText('nginx version: nginx/1.30.6\n')).to.equal('1.30.6');
    expect(nginxVersionFromText('nginx version: nginx/1.22.1 (Ubuntu)')).to.equal('1.22.1');
    expect(nginxVersionFromText('exec: "nginx": executable file not found in $PATH')).to.equal(null);
  });

  it('refuses nginx older than 1.27.3 (no `resolve` on upstream servers) and says what to use', () => {
    expect(MIN_NGINX_VERSION).to.equal('1.27.3');
    expect(nginxImageProblem('carebox-standin/nginx:1.22', '1.22.1')).to.match(/has nginx 1\.22\.1; Carebox's edge needs nginx ≥ 1\.27\.3/);
    expect(nginxImageProblem('nginx:1.26.2-bookworm', '1.26.2')).to.be.a('string');
    expect(nginxImageProblem('x', null)).to.match(/cannot tell the nginx version of x/);
    for (const ok of ['1.27.3', '1.28.0', '1.30.6', '2.0.0']) expect(nginxImageProblem('nginx', ok), ok).to.equal(null);
    expect(NGINX_IMAGE_HINT).to.include(DEFAULT_IMAGES.nginx).and.include('--images');
  });

  it('the default production image is an official release with `resolve` (≥ 1.27.3)', () => {
    const tag = /^nginx:(\d+\.\d+\.\d+)/.exec(DEFAULT_IMAGES.nginx)?.[1];
    expect(tag).to.be.a('string');
    expect(nginxImageProblem(DEFAULT_IMAGES.nginx, tag!)).to.equal(null);
  });
});

describe('plan: nginx upstream keep-alive sizing (issue 12)', () => {
  it('nginx closes idle upstream connections before the server does (its keep-alive timeout is longer)', () => {
    expect(NGINX_UPSTREAM_KEEPALIVE_TIMEOUT_S * 1000).to.be.below(KEEP_ALIVE_TIMEOUT_MS);
  });

  it('a draining backend waits for nginx to drop its idle connections, within its drain budget', () => {
    const plan = planFor('optimized');
    const env = (parse(fileOf(renderFor(plan), 'compose.yml')) as any).services.backend.environment;
    const idleClose = Number(env.DRAIN_IDLE_CLOSE_MS);
    expect(idleClose).to.be.greaterThan(NGINX_UPSTREAM_KEEPALIVE_TIMEOUT_S * 1000);
    expect(idleClose).to.be.below(Number(env.SHUTDOWN_TIMEOUT_MS));
  });

  it('keepalive = clamp(ceil(users × 1.5 / workers), 32, min(1024, worker_connections / 4))', () => {
    expect(nginxUpstream(74, 1, 4096).value.keepalive).to.equal(111);
    expect(nginxUpstream(10, 1, 4096).value.keepalive).to.equal(32);
    expect(nginxUpstream(5000, 2, 16_384).value.keepalive).to.equal(1024);
    expect(nginxUpstream(5000, 1, 2048).value.keepalive).to.equal(512);
    const d = nginxUpstream(74, 1, 4096);
    expect(d.derivations.keepalive).to.match(/^keepalive 111 idle connections per worker = clamp\(ceil\(users 74 × 1\.5 \/ 1 workers\)/);
    expect(d.value.keepaliveTimeoutS).to.equal(4);
    expect(d.value.failTimeoutS).to.be.greaterThan(d.value.resolverValidS);
  });
});
