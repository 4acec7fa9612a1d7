/**
 * Issue 5 on the real engine: scale (budget refusal with exit 3, 1 → 3 with every replica serving
 * through nginx, no recreate on a later install, back to 1), logs (demultiplexed, per replica,
 * --json lines, --follow) and restart (rolling, no failed request). One stack for the file.
 * Issue 12: nginx keeps connections to the backends alive and re-resolves `backend` in the
 * background; which replica answered comes from nginx's access log, and restart and scale-down run
 * under authenticated writes as well as reads, every 201 checked in the database.
 *
 * This host has 2 usable CPUs: 3 backend replicas × 2 workers exceed invariant 3 (web processes ≤
 * CPUs), so `scale backend=3` is refused, and accepted with `--overcommit`, which takes CPU time
 * (and memory from PostgreSQL's page-cache share) but never connections.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { CLI, get, readText, requireE2ePrereqs } from './e2e.helpers.js';
import {
  adminToken,
  cli,
  containerAddresses,
  containersOf,
  installTestStack,
  sql,
  startLoad,
  startWriteLoad,
  teardownTestStack,
  upstreamOfRequests,
  type TestStack,
} from './ops.helpers.js';

describe('e2e: scale, logs and restart on the real engine', function () {
  this.timeout(900_000);
  let docker: Docker;
  let s: TestStack | null = null;

  let token = '';

  /** Every patient answered 201 is in the database. */
  const expectStored = async (mrns: string[]) => {
    if (mrns.length === 0) return;
    const list = mrns.map((m) => `'${m}'`).join(',');
    expect(Number(await sql(docker, s!.project, `SELECT count(*) FROM patients WHERE mrn IN (${list})`))).to.equal(mrns.length);
  };

  before(async () => {
    docker = await requireE2ePrereqs();
    s = await installTestStack('scale', 'default');
    token = await adminToken(s);
  });
  after(async () => teardownTestStack(s));

  it('refuses scale backend=3 with exit 3 naming the violated budgets, changing nothing', async () => {
    const composeBefore = readText(join(s!.root, 'compose.yml'));
    const r = await cli(s!, ['scale', 'backend=3', '--json']);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.json.error.code).to.equal('PREFLIGHT_FAILED');
    expect(r.json.error.message).to.match(/workerProcesses: demand 6 processes exceeds limit 2/);
    expect(r.json.error.hint).to.match(/--overcommit/);
    expect(readText(join(s!.root, 'compose.yml'))).to.equal(composeBefore);
    expect(await containersOf(docker, s!.project, 'backend')).to.have.length(1);
  });

  it('rejects bad scale arguments with exit 2', async () => {
    for (const arg of ['db=2', 'backend=0', 'backend', 'backend=x']) {
      const r = await cli(s!, ['scale', arg]);
      expect(r.code, `${arg}: ${r.stderr}`).to.equal(2);
    }
  });

  it('scales backend 1 → 3 (--overcommit) without recreating the first, and every replica serves through nginx', async () => {
    const [first] = await containersOf(docker, s!.project, 'backend');
    const r = await cli(s!, ['scale', 'backend=3', '--overcommit', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.overcommitted).to.include('workerProcesses');
    const backends = await containersOf(docker, s!.project, 'backend');
    expect(backends).to.have.length(3);
    expect(backends.map((c) => c.Id)).to.include(first!.Id);
    expect(backends.every((c) => /\(healthy\)/.test(c.Status))).to.equal(true);
    expect(readText(join(s!.root, 'compose.yml'))).to.match(/replicas: 3/);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.plan.sizing.backend.replicas).to.equal(3);
    expect(m.scale.replicas.backend).to.equal(3);
    expect(m.history.at(-1)).to.include({ action: 'scale', tier: 'default' });
    const st = await cli(s!, ['status', '--json', '--no-usage']);
    expect(st.code, st.stderr).to.equal(0);
    expect(st.json.services.map((x: any) => x.service).sort()).to.deep.equal(['backend', 'db', 'nginx', 'redis', 'scheduler', 'worker']);
    expect(st.json.services.find((x: any) => x.service === 'backend')).to.include({ expected: 3, ready: 3, state: 'healthy' });

    // Every request's id (nginx's $request_id, echoed by the server) is in nginx's access log with
    // the replica address that answered it (the server itself logs only failed and slow requests):
    // every replica serves, each about a third, with keep-alive connections to them.
    const ids = new Set<string>();
    for (let i = 0; i < 120; i++) {
      const res = await fetch(`${s!.url}/ready`, { headers: { 'user-agent': 'carebox-e2e-scale' } });
      expect(res.status).to.equal(200);
      ids.add(res.headers.get('x-request-id')!);
    }
    const addresses = await containerAddresses(docker, s!.project, 'backend');
    const answered = await upstreamOfRequests(s!, ids);
    expect(answered.size, "every request is in nginx's log with its upstream").to.equal(120);
    const perReplica: Record<number, number> = {};
    for (const ip of answered.values()) {
      const replica = addresses.get(ip);
      expect(replica, `${ip} is no running backend (${JSON.stringify([...addresses])})`).to.be.a('number');
      perReplica[replica!] = (perReplica[replica!] ?? 0) + 1;
    }
    const numbers = backends.map((c) => Number(c.Labels['com.docker.compose.container-number'])).sort();
    expect(Object.keys(perReplica).map(Number).sort(), JSON.stringify(perReplica)).to.deep.equal(numbers);
    for (const n of Object.values(perReplica)) expect(n, JSON.stringify(perReplica)).to.be.at.least(10);
  });

  it('a plain install --yes afterwards keeps 3 replicas and recreates nothing', async () => {
    const ids = (await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${s!.project}`] } })).map((c) => c.Id).sort();
    const r = await cli(s!, ['install', '--yes', '--json', '--images', s!.images]);
    expect(r.code, r.stderr).to.equal(0);
    expect(
      r.json.files.every((f: any) => f.status === 'unchanged'),
      JSON.stringify(r.json.files),
    ).to.equal(true);
    const after = (await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${s!.project}`] } })).map((c) => c.Id).sort();
    expect(after).to.deep.equal(ids);
  });

  it('logs: demultiplexed lines prefixed with the replica, --json lines, and --follow sees new requests', async () => {
    const text = await cli(s!, ['logs', 'nginx', '--tail', '5']);
    expect(text.code, text.stderr).to.equal(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines.length).to.be.within(1, 5);
    for (const l of lines) expect(l).to.match(/^nginx#1 \| /);
    expect(text.stdout).to.not.match(/[\x00-\x08]/); // no frame headers
    const bad = await cli(s!, ['logs', 'mysql']);
    expect(bad.code).to.equal(2);

    const child = spawn(process.execPath, [CLI, 'logs', 'nginx', '--follow', '--tail', '0', '--dir', s!.root], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((r) => setTimeout(r, 1500));
    await get(`${s!.url}/nginx-health`).catch(() => undefined);
    await get(`${s!.url}/health`);
    const deadline = Date.now() + 15_000;
    while (!/GET \/health/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(out).to.match(/^nginx#1 \| .*"GET \/health" 200/m);
    expect(code).to.equal(0);
  });

  it('restart backend rolls one replica at a time: no failed read or write through nginx, every 201 stored', async () => {
    const load = startLoad(s!.url, '/health');
    const writes = startWriteLoad(s!.url, token);
    await new Promise((r) => setTimeout(r, 1000));
    const r = await cli(s!, ['restart', 'backend', '--json']);
    const report = await load.stop();
    const w = await writes.stop();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.strategy).to.equal('rolling');
    expect(r.json.containers).to.have.length(3);
    expect(report.requests).to.be.greaterThan(100);
    expect(report.failed, JSON.stringify(report)).to.equal(0);
    expect(w.requests).to.be.greaterThan(20);
    expect(w.failed, JSON.stringify({ ...w, created: w.created.length })).to.equal(0);
    await expectStored(w.created);
  });

  it('scales back to 1 under reads and writes: the plan count, no failed request, none sent to a removed replica', async () => {
    const load = startLoad(s!.url, '/health');
    const writes = startWriteLoad(s!.url, token);
    await new Promise((r) => setTimeout(r, 1000));
    const r = await cli(s!, ['scale', 'backend=1', '--json']);
    const report = await load.stop();
    const w = await writes.stop();
    expect(r.code, r.stderr).to.equal(0);
    expect(report.failed, JSON.stringify(report)).to.equal(0);
    expect(w.failed, JSON.stringify({ ...w, created: w.created.length })).to.equal(0);
    await expectStored(w.created);
    expect(await containersOf(docker, s!.project, 'backend')).to.have.length(1);
    // Right after the scale-down, every request goes to the one replica left.
    const left = await containerAddresses(docker, s!.project, 'backend');
    const ids = new Set<string>();
    for (let i = 0; i < 30; i++) ids.add((await fetch(`${s!.url}/ready`)).headers.get('x-request-id')!);
    const answered = await upstreamOfRequests(s!, ids);
    expect(answered.size).to.equal(30);
    for (const ip of answered.values()) expect(left.has(ip), `${ip} is not the replica left (${[...left.keys()]})`).to.equal(true);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.scale).to.equal(null);
    // Memory is overcommitted only where the host cannot afford the tier's scale-out room (issue 16, point 7).
    const summaries = m.history.filter((h: any) => h.action === 'scale').map((h: any) => h.summary);
    expect(summaries).to.have.length(2);
    expect(summaries[0]).to.match(/^backend 1 → 3 \(overcommit: (memoryBytes, )?workerProcesses\)$/);
    expect(summaries[1]).to.equal('backend 3 → 1');
    expect((await get(`${s!.url}/ready`)).status).to.equal(200);
    const st = await cli(s!, ['status', '--json', '--no-usage']);
    expect(st.code, st.stderr).to.equal(0);
    // The same count again is a no-op: no reload, no carebox.json rewrite, no new config backup.
    const manifestBefore = readText(join(s!.root, 'carebox.json'));
    const backupsBefore = readdirSync(join(s!.root, 'backups')).sort();
    const again = await cli(s!, ['scale', 'backend=1', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.json).to.include({ noop: true, from: 1, to: 1 });
    expect(readText(join(s!.root, 'carebox.json'))).to.equal(manifestBefore);
    expect(readdirSync(join(s!.root, 'backups')).sort()).to.deep.equal(backupsBefore);
  });

  it('restart of a single backend replica is a surge (new before old): no failed read or write, one replica after', async () => {
    const before = (await containersOf(docker, s!.project, 'backend')).map((c) => c.Id);
    const load = startLoad(s!.url, '/health');
    const writes = startWriteLoad(s!.url, token);
    await new Promise((r) => setTimeout(r, 1000));
    const r = await cli(s!, ['restart', 'backend', '--json']);
    const report = await load.stop();
    const w = await writes.stop();
    expect(w.failed, JSON.stringify({ ...w, created: w.created.length })).to.equal(0);
    await expectStored(w.created);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.strategy).to.equal('surge');
    const after = (await containersOf(docker, s!.project, 'backend')).map((c) => c.Id);
    expect(after).to.have.length(1);
    expect(after[0]).to.not.equal(before[0]);
    expect(report.requests).to.be.greaterThan(100);
    expect(report.failed, JSON.stringify(report)).to.equal(0);
    // Compose sees no drift afterwards: a plain install recreates nothing.
    const again = await cli(s!, ['install', '--yes', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    expect((await containersOf(docker, s!.project, 'backend')).map((c) => c.Id)).to.deep.equal(after);
  });
});
