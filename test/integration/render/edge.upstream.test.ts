/**
 * The edge's upstream behaviour (issue 12), with the rendered nginx.conf in the nginx image the
 * stack runs (the stand-in here) on a Docker network of this test's own, so `backend` resolves
 * through Docker's DNS as in the stack:
 *  - started with no backend at all, nginx comes up and answers the API's JSON 503 with
 *    Retry-After (the edge must not wait for the backends);
 *  - once backends appear under the name `backend`, nginx finds them without a reload;
 *  - the application's own 503 (a pool wait over its limit) reaches the client as sent, and does
 *    not take that replica out of the upstream for fail_timeout.
 * The backends are a few lines of node:http that name themselves, not the Carebox server: the
 * question here is what nginx does with what they answer. Needs the Docker engine and the stand-ins.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../../installer/apply/exec.js';
import { writeFileAtomic } from '../../../installer/apply/fs.atomic.js';
import { freePort, get } from '../../net.helpers.js';
import { runEdge } from './edge.helpers.js';
import { IMAGES, planFor, renderFor } from '../../unit/render/render.helpers.js';

const standinsFile = join(process.cwd(), 'test/images/images.standin.json');

/**
 * A backend that answers its own name; replica `a` answers /busy with 503 and Retry-After (as the
 * API does for a pool wait), replica `b` with 200.
 */
const BACKEND = `
const name = process.env.NAME;
require('http').createServer((q, s) => {
  if (q.url.endsWith('/busy') && name.endsWith('-a')) { s.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }); return s.end(JSON.stringify({ error: { code: 'DB_POOL_BUSY' }, from: name })); }
  s.writeHead(200, { 'content-type': 'application/json' }); s.end(JSON.stringify({ from: name }));
}).listen(3000);
`;

/** GET `url`: status, parsed body and the Retry-After header. */
async function getJson(url: string): Promise<{ status: number; body: any; retryAfter: string | null }> {
  const r = await get(url);
  return { status: r.status, body: r.body, retryAfter: r.headers.get('retry-after') };
}

/** Polls `url` until `ok(answer)` or `ms` pass (bounded). */
async function until(url: string, ok: (a: Awaited<ReturnType<typeof getJson>>) => boolean, ms: number) {
  const end = Date.now() + ms;
  let last: Awaited<ReturnType<typeof getJson>> | null = null;
  while (Date.now() < end) {
    try {
      last = await getJson(url);
      if (ok(last)) return last;
    } catch {
      /* nginx not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no matching answer from ${url} within ${ms} ms; last: ${JSON.stringify(last)}`);
}

describe('edge upstream: cold start without backends, live DNS, and the application 503 (stand-in nginx image)', function () {
  this.timeout(120_000);
  const tag = `i12-up-${process.pid}-${Date.now().toString(36)}`;
  const names = { network: tag, nginx: `${tag}-nginx`, a: `${tag}-a`, b: `${tag}-b` };
  let root: string;
  let url: string;
  let nodeImage: string;

  before(async function () {
    if (!existsSync(standinsFile)) throw new Error('stand-in images missing: run bash test/images/build-standins.sh');
    const images = JSON.parse(readFileSync(standinsFile, 'utf8')) as { nginx: string; node: string };
    nodeImage = images.node;
    root = await mkdtemp(join(tmpdir(), 'carebox-edge-upstream-'));
    for (const f of renderFor(planFor('horizontal'), { ...IMAGES, nginx: images.nginx })) await writeFileAtomic(join(root, f.path), f.content, f.mode);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await exec(['docker', 'network', 'create', names.network]);
    await runEdge({ name: names.nginx, network: names.network, image: images.nginx, root, ports: [[port, 8080]] });
  });

  after(async () => {
    for (const c of [names.nginx, names.a, names.b]) await exec(['docker', 'rm', '-f', c], { allowFailure: true });
    await exec(['docker', 'network', 'rm', names.network], { allowFailure: true });
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('with no backend running, nginx starts and answers the API JSON 503 with Retry-After', async () => {
    const own = await until(`${url}/nginx-health`, (a) => a.status === 200, 20_000);
    expect(own.status).to.equal(200);
    const down = await getJson(`${url}/api/v1/patients`);
    expect(down.status).to.equal(503);
    expect(down.retryAfter).to.equal('5');
    expect(down.body?.error?.code).to.equal('SERVICE_UNAVAILABLE');
  });

  it('backends that appear later get traffic without a reload, and an application 503 takes no replica out', async () => {
    for (const n of [names.a, names.b])
      await exec([
        'docker',
        'run',
        '-d',
        '--name',
        n,
        '--network',
        names.network,
        '--network-alias',
        'backend',
        '-e',
        `NAME=${n}`,
        nodeImage,
        'node',
        '-e',
        BACKEND,
      ]);
    // Both replicas answer within a few DNS refreshes (resolver valid=… s) and fail_timeout.
    const seen = new Set<string>();
    const end = Date.now() + 60_000;
    while (seen.size < 2 && Date.now() < end) {
      const a = await getJson(`${url}/api/v1/patients`).catch(() => null);
      if (a?.status === 200) seen.add(a.body.from);
      else await new Promise((r) => setTimeout(r, 250));
    }
    expect([...seen].sort()).to.deep.equal([names.a, names.b].sort());

    // The application's 503 goes to the client as sent (its body, its Retry-After), not retried
    // into nginx's own page.
    // Round robin sends one of the first few to replica a; had nginx retried the 503 on b, every
    // one of them would come back 200.
    let busy = await getJson(`${url}/api/v1/busy`);
    for (let i = 0; i < 6 && busy.status !== 503; i++) busy = await getJson(`${url}/api/v1/busy`);
    expect(busy.status).to.equal(503);
    expect(busy.body?.error?.code).to.equal('DB_POOL_BUSY');
    expect(busy.retryAfter).to.equal('1');
    // …and the replica that sent it still gets traffic right away (max_fails would have taken it
    // out for fail_timeout, leaving every request to the other one).
    const after = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const a = await getJson(`${url}/api/v1/patients`);
      expect(a.status).to.equal(200);
      after.add(a.body.from);
    }
    expect(after.has(busy.body.from), `requests after the 503 went to ${[...after].join(', ')}`).to.equal(true);
  });
});
