/**
 * Issue 5 on the real engine: re-tier default → horizontal → default under a loopback load
 * generator (autocannon, 6 connections against nginx) with zero failed requests, the backend
 * replica counts of the plan after each step, the history in the manifest, and no drift (a plain
 * `install --yes` afterwards recreates nothing). This host has 2 CPUs: horizontal is two
 * single-worker replicas.
 *
 * The load targets /health through nginx (every request crosses nginx and a backend replica, so
 * it proves the rolling replacement), and a second, DB-backed probe (/ready: PostgreSQL and Redis)
 * proves the data services stay up: PostgreSQL's sizing depends on the host only, so a re-tier
 * never restarts it. Both must see zero failed requests.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { readText, requireE2ePrereqs } from './e2e.helpers.js';
import {
  apiCall,
  cli,
  containersOf,
  installTestStack,
  missingPatients,
  signInAdmin,
  startApiTraffic,
  startLoad,
  teardownTestStack,
  type TestStack,
} from './ops.helpers.js';

const sha = (p: string) => createHash('sha256').update(readText(p)).digest('hex');

describe('e2e: retier default → horizontal → default under load', function () {
  this.timeout(900_000);
  let docker: Docker;
  let s: TestStack | null = null;
  let token = '';
  let known = '';

  before(async () => {
    docker = await requireE2ePrereqs();
    s = await installTestStack('retier', 'default');
    token = await signInAdmin(s);
    const p = await apiCall(s.url, 'POST', '/patients', token, {
      mrn: 'RT-KNOWN',
      givenName: 'Known',
      familyName: 'Patient',
      birthDate: '1970-01-01',
      sex: 'unknown',
    });
    expect(p.status, JSON.stringify(p.body)).to.equal(201);
    known = p.body.id;
  });
  after(async () => teardownTestStack(s));

  it('--dry-run shows every file diff and sizing change and changes nothing', async () => {
    const before = sha(join(s!.root, 'compose.yml'));
    const r = await cli(s!, ['retier', 'horizontal', '--dry-run', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json).to.include({ ok: true, dryRun: true, from: 'default', to: 'horizontal' });
    const compose = r.json.files.find((f: any) => f.path === 'compose.yml');
    expect(compose.status).to.equal('updated');
    expect(compose.diff).to.match(/^-\s+replicas: 1$/m);
    expect(compose.diff).to.match(/^\+\s+replicas: 2$/m);
    expect(r.json.files.find((f: any) => f.path === '.env').diff).to.equal('');
    expect(r.json.sizing.map((c: any) => c.path)).to.include.members(['backend.replicas', 'backend.workers']);
    expect(r.json.actions.find((a: any) => a.service === 'backend').action).to.equal('roll');
    // nginx.conf does not name the tier or the replicas: nginx finds them through DNS, no reload.
    expect(r.json.files.find((f: any) => f.path === 'nginx/nginx.conf').status).to.equal('unchanged');
    expect(r.json.actions.find((a: any) => a.service === 'nginx').action).to.equal('none');
    expect(sha(join(s!.root, 'compose.yml'))).to.equal(before);
    const text = await cli(s!, ['retier', 'horizontal', '--dry-run']);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/--- a\/compose.yml/);
    expect(text.stdout).to.match(/backend\.replicas\s+1 → 2/);
    expect(text.stdout).to.match(/Dry run: nothing was changed/);
  });

  it('without a TTY and without --yes it exits 2 and changes nothing', async () => {
    const r = await cli(s!, ['retier', 'horizontal']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/no TTY/);
    expect(JSON.parse(readText(join(s!.root, 'carebox.json'))).plan.tier).to.equal('default');
  });

  for (const [from, to, replicas, workers] of [
    ['default', 'horizontal', 2, 1],
    ['horizontal', 'default', 1, 2],
  ] as const) {
    it(`${from} → ${to} under load: 0 failed requests, ${replicas} backend replica(s), no drift afterwards`, async () => {
      const health = startLoad(s!.url, '/health');
      const ready = startLoad(s!.url, '/ready', { connections: 2 });
      // Signed-in reads and writes through nginx, as a ward would send them during the change.
      const traffic = startApiTraffic(s!.url, token, { readPatientId: known, writeEveryMs: 200, tag: `rt-${to}` });
      await new Promise((r) => setTimeout(r, 1500));
      const t0 = Date.now();
      const r = await cli(s!, ['retier', to, '--yes', '--json']);
      const seconds = (Date.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 1500));
      const h = await health.stop();
      const d = await ready.stop();
      const api = await traffic.stop();
      console.log(
        `      ${from} → ${to}: ${seconds.toFixed(1)} s; /health ${JSON.stringify(h)}; /ready ${JSON.stringify(d)}; writes ${JSON.stringify(api.writes)}; reads ${JSON.stringify(api.reads)}; PostgreSQL restart ${JSON.stringify(r.json?.applied?.postgresRestart)}`,
      );
      expect(r.code, r.stderr).to.equal(0);
      expect(api.created.length).to.be.greaterThan(10);
      expect(api.failedReads, `signed-in reads: ${JSON.stringify(api.reads)}`).to.equal(0);
      expect(api.failedWrites, `signed-in writes: ${JSON.stringify(api.writes)}`).to.equal(0);
      expect(await missingPatients(docker, s!.project, api.created), 'every write answered 201 is stored').to.deep.equal([]);
      expect(h.requests).to.be.greaterThan(500);
      expect(h.failed, JSON.stringify(h)).to.equal(0);
      expect(d.requests).to.be.greaterThan(100);
      expect(d.failed, `DB-backed /ready: ${JSON.stringify(d)}`).to.equal(0);

      const backends = await containersOf(docker, s!.project, 'backend');
      expect(backends).to.have.length(replicas);
      for (const b of backends) {
        const info = await docker.getContainer(b.Id).inspect();
        expect(info.Config.Env).to.include(`WEB_CONCURRENCY=${workers}`);
      }
      const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
      expect(m.plan.tier).to.equal(to);
      expect(m.intent.tier).to.equal(to);
      expect(m.plan.sizing.backend.replicas).to.equal(replicas);
      const last = m.history.at(-1);
      expect(last.action).to.equal('retier');
      expect(last.tier).to.equal(to);
      expect(Date.parse(last.appliedAt)).to.be.greaterThan(t0 - 1000);

      const ids = (await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${s!.project}`] } })).map((c) => c.Id).sort();
      const again = await cli(s!, ['install', '--yes', '--json', '--images', s!.images]);
      expect(again.code, again.stderr).to.equal(0);
      expect(
        again.json.files.every((f: any) => f.status === 'unchanged'),
        JSON.stringify(again.json.files),
      ).to.equal(true);
      expect(again.json.manifestWritten).to.equal(false);
      const after = (await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${s!.project}`] } })).map((c) => c.Id).sort();
      expect(after, 'install --yes recreated containers after the re-tier').to.deep.equal(ids);
    });
  }

  it('a re-tier to the current plan has nothing to do', async () => {
    const r = await cli(s!, ['retier', 'default', '--yes', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.noop).to.equal(true);
  });
});
