/**
 * Issue 4's "Done when" as a new user would do it, through nginx on an installed stack: the first
 * admin's one-time password from `carebox install`, sign in, change it, create a clinician and a
 * patient, book, 409 on the same slot, read the patient twice and see the cache hit counter rise
 * (scraped from the backend container: nginx keeps /metrics off the edge), audit shows both reads.
 * Then `carebox demo-data` creates and removes synthetic records without touching the real one.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { backendTargets } from '../../console/metrics/metrics.scrape.js';
import { carebox, freePort, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';

function metric(text: string, name: string, labels: string): number {
  const m = new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('e2e: the records API through nginx on an installed stack', function () {
  this.timeout(600_000);
  let docker: Docker;
  let root: string;
  let base: string;
  let project: string;
  let token = '';

  const api = async (method: string, path: string, body?: unknown, auth = true) => {
    const r = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
  const scrape = async () => {
    const [t] = await backendTargets(docker, project);
    if (!t?.url) throw new Error('no backend metrics target');
    return (await fetch(t.url, { signal: AbortSignal.timeout(10_000) })).text();
  };

  before(async () => {
    docker = await requireE2ePrereqs();
    root = join(await mkdtemp(join(tmpdir(), 'carebox-records-')), 'root');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const r = await carebox([
      'install',
      '--yes',
      '--json',
      '--tier',
      'default',
      '--dir',
      root,
      '--http-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--images',
      STANDINS,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    project = r.json.project;
    expect(r.json.admin.created).to.equal(true);
    expect(r.json.admin.oneTimePassword).to.be.a('string').with.length.greaterThan(11);
    // The one-time password is in the result document once, never in logs or files.
    expect(r.stderr).to.not.include(r.json.admin.oneTimePassword);
    const login = await api('POST', '/auth/login', { username: r.json.admin.username, password: r.json.admin.oneTimePassword }, false);
    expect(login.status).to.equal(200);
    token = login.body.token;
    const gated = await api('GET', '/patients?q=x');
    expect(gated.status).to.equal(403);
    expect(gated.body.error.code).to.equal('PASSWORD_CHANGE_REQUIRED');
    const changed = await api('POST', '/auth/change-password', { currentPassword: r.json.admin.oneTimePassword, newPassword: 'ward-7-night-shift-2026' });
    expect(changed.status, JSON.stringify(changed.body)).to.equal(204);
  });

  after(async () => {
    if (root && existsSync(root)) await carebox(['uninstall', '--dir', root, '--purge', '--yes']);
    if (root) await rm(join(root, '..'), { recursive: true, force: true });
  });

  it('clinician, patient, booking, 409 on the same slot, cached reads, audited reads', async () => {
    const clinician = await api('POST', '/users', {
      username: 'dr.quinn',
      displayName: 'Dr Michaela Quinn',
      role: 'clinician',
      department: 'General Medicine',
      email: 'quinn@example.org',
    });
    expect(clinician.status, JSON.stringify(clinician.body)).to.equal(201);
    const patient = await api('POST', '/patients', {
      mrn: 'e2e-0001',
      givenName: 'Katherine',
      familyName: 'Johnson',
      birthDate: '1918-08-26',
      sex: 'female',
      phone: '+1 555 0100',
    });
    expect(patient.status, JSON.stringify(patient.body)).to.equal(201);
    const slot = {
      patientId: patient.body.id,
      clinicianId: clinician.body.user.id,
      startsAt: '2031-03-03T09:00:00Z',
      endsAt: '2031-03-03T09:30:00Z',
      department: 'General Medicine',
    };
    expect((await api('POST', '/appointments', slot)).status).to.equal(201);
    const again = await api('POST', '/appointments', slot);
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('SLOT_TAKEN');

    const before = await scrape();
    const first = await api('GET', `/patients/${patient.body.id}`);
    const second = await api('GET', `/patients/${patient.body.id}`);
    expect(first.status).to.equal(200);
    expect(second.body).to.deep.equal(first.body);
    const after = await scrape();
    expect(metric(after, 'carebox_cache_hits_total', 'cache="patient"')).to.be.greaterThan(metric(before, 'carebox_cache_hits_total', 'cache="patient"'));

    const audit = await api('GET', `/audit-events?patientId=${patient.body.id}&action=patient.read`);
    expect(audit.status).to.equal(200);
    expect(audit.body.items).to.have.length(2);
    for (const e of audit.body.items) expect(e).to.include({ action: 'patient.read', actorUsername: 'admin', outcome: 'success' });
  });

  it('keeps /metrics off the public edge', async () => {
    expect((await fetch(`${base}/metrics`)).status).to.equal(404);
  });

  it('carebox demo-data creates synthetic records and --remove deletes only them', async () => {
    const made = await carebox(['demo-data', '--json', '--dir', root, '--patients', '40']);
    expect(made.code, made.stderr).to.equal(0);
    expect(made.json.patients.created).to.equal(40);
    const found = await api('GET', '/patients?q=DEMO-&limit=100');
    expect(found.status).to.equal(200);
    // --remove alone would delete every synthetic data set: it needs --tenant or --all (issue 17).
    const unscoped = await carebox(['demo-data', '--json', '--dir', root, '--remove']);
    expect(unscoped.code).to.equal(2);
    expect(unscoped.json.error.message).to.match(/--remove needs --tenant NAME .* or --all/);
    const nothing = await carebox(['demo-data', '--dir', root, '--remove', '--tenant', 'nosuchtenant']);
    expect(nothing.code, nothing.stderr).to.equal(0);
    expect(nothing.stdout).to.equal("No synthetic data matched data set 'nosuchtenant': nothing was removed.\n");
    // --patients 0 creates no clinician accounts; the summary is for people, clinicians included.
    const zero = await carebox(['demo-data', '--dir', root, '--patients', '0', '--tenant', 'empty']);
    expect(zero.code, zero.stderr).to.equal(0);
    expect(zero.stdout).to.match(
      /^Demo data set 'empty' \(MRNs EMPTY-…\):\n {2}patients {6}0 requested: 0 created, 0 already there\n {2}clinicians {4}0 created, 0 already there\n/,
    );
    expect(zero.stdout).to.not.match(/[{}"]/);
    const clinicians = await api('GET', '/clinicians');
    expect(JSON.stringify(clinicians.body)).to.not.include('empty-clinician');
    const removed = await carebox(['demo-data', '--json', '--dir', root, '--remove', '--tenant', 'demo']);
    expect(removed.code, removed.stderr).to.equal(0);
    expect(removed.json.removed.patients).to.equal(40);
    expect(removed.json.matched).to.equal(true);
    const real = await api('GET', '/patients?q=E2E-0001');
    expect(real.body.items.map((p: { mrn: string }) => p.mrn)).to.deep.equal(['E2E-0001']);
    const bad = await carebox(['demo-data', '--json', '--dir', root]);
    expect(bad.code).to.equal(2);
  });

  it('a re-run of install keeps the admin and shows no password', async () => {
    const r = await carebox(['install', '--yes', '--json', '--dir', root, '--images', STANDINS]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.admin).to.deep.equal({ username: 'admin', created: false, oneTimePassword: null });
  });
});
