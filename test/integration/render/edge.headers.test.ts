/**
 * HSTS is sent once, by the edge, and only over TLS (issue 17): the rendered nginx.conf with TLS,
 * run in the nginx image the stack runs (the stand-in here), in front of a plain backend on a
 * Docker network of this test's own. The backend is a few lines of node:http, not the Carebox
 * server: what the server sends (no HSTS at all) is pinned in test/integration/server/app.test.ts;
 * here the question is what the edge adds. Needs the Docker engine and the stand-in images.
 */
import { expect } from 'chai';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../../installer/apply/exec.js';
import { writeFileAtomic } from '../../../installer/apply/fs.atomic.js';
import { makeTestCerts } from '../../tls.fixtures.js';
import { freePort } from '../../net.helpers.js';
import { runEdge } from './edge.helpers.js';
import { IMAGES, planFor, renderFor } from '../../unit/render/render.helpers.js';

const standinsFile = join(process.cwd(), 'test/images/images.standin.json');

interface Answer {
  status: number;
  /** Every Strict-Transport-Security header line, as sent (duplicates are not merged). */
  hsts: string[];
}

function get(url: string, ca: Buffer | null): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { ...(ca ? { ca } : {}), timeout: 10_000 }, (res) => {
      const hsts: string[] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2)
        if (res.rawHeaders[i]!.toLowerCase() === 'strict-transport-security') hsts.push(res.rawHeaders[i + 1]!);
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, hsts }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Retry until nginx answers (it starts in well under a second; the machine may be busy). */
async function getWhenUp(url: string, ca: Buffer | null): Promise<Answer> {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      return await get(url, ca);
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('edge headers: HSTS once, from nginx, only over TLS (stand-in nginx image)', function () {
  this.timeout(120_000);
  const tag = `i17-edge-${process.pid}-${Date.now().toString(36)}`;
  const names = { network: tag, backend: `${tag}-backend`, nginx: `${tag}-nginx` };
  let root: string;
  let certs: ReturnType<typeof makeTestCerts>;
  let ca: Buffer;
  let http: string;
  let https: string;

  before(async function () {
    if (!existsSync(standinsFile)) throw new Error('stand-in images missing: run bash test/images/build-standins.sh');
    const images = JSON.parse(readFileSync(standinsFile, 'utf8')) as { nginx: string; node: string };
    certs = makeTestCerts();
    ca = readFileSync(certs.cert);
    root = await mkdtemp(join(tmpdir(), 'carebox-edge-'));
    const tls = { httpsPort: 18443, certPem: readFileSync(certs.cert, 'utf8'), keyPem: readFileSync(certs.key, 'utf8') };
    for (const f of renderFor(planFor('default'), { ...IMAGES, nginx: images.nginx }, tls)) await writeFileAtomic(join(root, f.path), f.content, f.mode);
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    http = `http://127.0.0.1:${httpPort}`;
    https = `https://127.0.0.1:${httpsPort}`;
    await exec(['docker', 'network', 'create', names.network]);
    // A backend reachable as backend:3000, as in the stack, that sends no HSTS of its own.
    await exec([
      'docker',
      'run',
      '-d',
      '--name',
      names.backend,
      '--network',
      names.network,
      '--network-alias',
      'backend',
      images.node,
      'node',
      '-e',
      "require('http').createServer((q, s) => s.end('ok')).listen(3000)",
    ]);
    await runEdge({
      name: names.nginx,
      network: names.network,
      image: images.nginx,
      root,
      ports: [
        [httpPort, 8080],
        [httpsPort, 8443],
      ],
    });
  });

  after(async () => {
    for (const c of [names.nginx, names.backend]) await exec(['docker', 'rm', '-f', c], { allowFailure: true });
    await exec(['docker', 'network', 'rm', names.network], { allowFailure: true });
    if (root) await rm(root, { recursive: true, force: true });
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  it("over TLS: exactly one Strict-Transport-Security, on nginx's own answers and on proxied ones", async () => {
    const own = await getWhenUp(`${https}/nginx-health`, ca);
    expect(own.status).to.equal(200);
    expect(own.hsts).to.deep.equal(['max-age=31536000']);
    const end = Date.now() + 20_000;
    let proxied = await get(`${https}/api/v1/anything`, ca);
    while (proxied.status !== 200 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 300));
      proxied = await get(`${https}/api/v1/anything`, ca);
    }
    expect(proxied.status).to.equal(200);
    expect(proxied.hsts).to.deep.equal(['max-age=31536000']);
  });

  it("over plain HTTP (127.0.0.1:8080 for this host's tools): no Strict-Transport-Security", async () => {
    const own = await getWhenUp(`${http}/nginx-health`, null);
    expect(own.status).to.equal(200);
    expect(own.hsts).to.deep.equal([]);
    const proxied = await get(`${http}/api/v1/anything`, null);
    expect(proxied.hsts).to.deep.equal([]);
  });

  it('the 503 page while no backend answers carries HSTS once over TLS, and none over HTTP', async () => {
    await exec(['docker', 'rm', '-f', names.backend]);
    const down = await getWhenUp(`${https}/api/v1/anything`, ca);
    expect(down.status).to.equal(503);
    expect(down.hsts).to.deep.equal(['max-age=31536000']);
    const plain = await get(`${http}/api/v1/anything`, null);
    expect(plain.status).to.equal(503);
    expect(plain.hsts).to.deep.equal([]);
  });
});
