/**
 * Issue 13 (items 1-3) on the real engine, one stack at a time:
 *  1. a stack whose schedule fires every 20 s (a test-only cron with seconds) backs itself up with no
 *     command: its scheduler service writes and verifies a backup, passes the restore drill in a
 *     scratch PostgreSQL, copies it to a real SFTP server (Debian's openssh-server in a container on
 *     a network this test creates, reached on a loopback port) and to a local restic repository, and
 *     retention runs after the verified backup (local keep-N, restic forget --prune: two snapshots of
 *     one day keep one). carebox.json and the metrics file record it all.
 *     A backup that would not fit is refused before it starts (exit 3), visible in the metrics file.
 *  2. a second, freshly installed stack (new root, new secrets) restores from the local restic
 *     repository with only the repository and its password, and its row counts match backup.json;
 *     then, after its data changed, from the SFTP repository with only the SSH key and the password.
 *     (REST and S3 repositories: backup.repos.e2e.test.ts.)
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { freePort, readText, requireE2ePrereqs } from './e2e.helpers.js';
import { cli, installTestStack, seedPatients, sql, teardownTestStack, type TestStack } from './ops.helpers.js';

const SFTP_IMAGE = 'carebox-standin/sftp:9';
const DOCKER_CLI_STANDIN = 'carebox-standin/docker-cli:1';

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null> | T | null): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < end; i++) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('e2e: scheduled backups, restic off-host copies, restore drill, restore on a new server', function () {
  this.timeout(1_200_000);
  let docker: Docker;
  let s: TestStack | null = null;
  let s2: TestStack | null = null;
  const tmp = mkdtempSync(join(tmpdir(), 'carebox-sched-'));
  const net = `carebox-e2e-sftp-${process.pid}`;
  let sftpId = '';
  let sftpPort = 0;
  let lastTables: Record<string, number> = {};
  const env = { ...process.env, CAREBOX_DOCKER_CLI_IMAGE: DOCKER_CLI_STANDIN };

  before(async () => {
    docker = await requireE2ePrereqs();
    // The SFTP server: its own network, the test's key authorised for root, published on loopback only.
    // ssh-keygen from the restic stand-in (it has OpenSSH's client), so the host needs no ssh package.
    execFileSync('docker', [
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${tmp}:/k`,
      '--entrypoint',
      'ssh-keygen',
      'carebox-standin/restic:0.14',
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-f',
      '/k/id',
      '-C',
      'carebox-e2e',
    ]);
    chmodSync(join(tmp, 'id'), 0o600);
    mkdirSync(join(tmp, 'authorized'), { mode: 0o700 });
    copyFileSync(join(tmp, 'id.pub'), join(tmp, 'authorized', 'authorized_keys'));
    chmodSync(join(tmp, 'authorized', 'authorized_keys'), 0o600);
    await docker.createNetwork({ Name: net, Labels: { 'com.carebox.test': 'backup-schedule' } });
    sftpPort = await freePort();
    const c = await docker.createContainer({
      Image: SFTP_IMAGE,
      Labels: { 'com.carebox.test': 'backup-schedule' },
      ExposedPorts: { '22/tcp': {} },
      HostConfig: {
        NetworkMode: net,
        Binds: [`${join(tmp, 'authorized')}:/root/.ssh:ro`],
        PortBindings: { '22/tcp': [{ HostIp: '127.0.0.1', HostPort: String(sftpPort) }] },
      },
    });
    sftpId = c.id;
    await c.start();
    s = await installTestStack('sched', 'default');
    await seedPatients(docker, s.project, 57);
  });

  after(async () => {
    await teardownTestStack(s);
    await teardownTestStack(s2);
    if (sftpId)
      await docker
        .getContainer(sftpId)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    await docker
      .getNetwork(net)
      .remove()
      .catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('adds an SFTP and a local restic repository; the password is created once and shown once', async () => {
    const a = await cli(s!, ['backup', 'offsite', 'add', 'sftp', `sftp://root@127.0.0.1:${sftpPort}/srv/restic`, '--ssh-key', join(tmp, 'id'), '--json']);
    expect(a.code, a.stderr).to.equal(0);
    expect(a.json.created).to.equal(true);
    expect(a.json.password).to.match(/^[A-Za-z0-9_-]{43}$/);
    const b = await cli(s!, ['backup', 'offsite', 'add', 'usb', join(tmp, 'usb-repo'), '--json']);
    expect(b.code, b.stderr).to.equal(0);
    expect(b.json.password, 'shown once only').to.equal(null);
    expect(readText(join(s!.root, 'secrets/restic-password')).trim()).to.equal(a.json.password);
    // A relative path and an SFTP URL without a key are usage errors (exit 2), nothing stored.
    expect((await cli(s!, ['backup', 'offsite', 'add', 'bad', 'relative/path'])).code).to.equal(2);
    expect((await cli(s!, ['backup', 'offsite', 'add', 'bad', `sftp://root@127.0.0.1:${sftpPort}/x`])).code).to.equal(2);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.backups.offsite.map((r: any) => r.name)).to.deep.equal(['sftp', 'usb']);
  });

  it('refuses a backup that would not fit before it starts, and publishes the refusal for alerts', async () => {
    const list = () =>
      readdirSync(join(s!.root, 'backups'))
        .filter((n) => !n.startsWith('config-'))
        .sort();
    const before = list();
    // The real disk, with a reserve no disk has (CAREBOX_BACKUP_RESERVE_BYTES, the admin's override).
    const r = await cli(s!, ['backup', '--json'], { env: { CAREBOX_BACKUP_RESERVE_BYTES: String(2 ** 50) } });
    expect(r.code, r.stderr).to.equal(3);
    expect(r.json.error.message).to.match(/backup refused before it started: it needs about \d+ MiB plus \d+ MiB that must stay free/);
    expect(list(), 'nothing written').to.deep.equal(before);
    const st = JSON.parse(readText(join(s!.root, 'carebox.json'))).backups.status;
    expect(Date.parse(st.refusedAt)).to.be.greaterThan(Date.now() - 120_000);
    expect(readText(join(s!.root, 'metrics/carebox_backup.prom'))).to.match(/^carebox_backup_refused_timestamp_seconds [1-9]\d+$/m);
  });

  it('runs scheduled backups by itself: verified, drilled, copied to SFTP, then pruned by retention', async () => {
    // One manual backup first, keeping 1: scheduled retention must remove it once a newer one is verified.
    const first = await cli(s!, ['backup', '--keep', '1', '--json']);
    expect(first.code, first.stderr).to.equal(0);
    const bm = JSON.parse(readText(join(first.json.dir, 'backup.json')));
    expect(Object.keys(bm.checksums)).to.include('public.patients');
    expect(bad(await cli(s!, ['backup', 'schedule', '--cron', 'not a cron']))).to.equal(2);
    const set = await cli(s!, ['backup', 'schedule', '--cron', '*/20 * * * * *', '--json'], { env, timeoutMs: 900_000 });
    expect(set.code, set.stderr).to.equal(0);
    const compose = readText(join(s!.root, 'compose.yml'));
    expect(compose).to.match(/\n  scheduler:\n/);
    // `carebox status` counts the scheduler as a service of the stack, healthy once its heartbeat is seen.
    await until('status to show a healthy scheduler', 90_000, async () => {
      const st = await cli(s!, ['status', '--json', '--no-usage']);
      return st.code === 0 && st.json.services.some((x: any) => x.service === 'scheduler' && x.state === 'healthy') ? true : null;
    });
    // No command from here on: wait for two scheduled runs that passed their drill and reached SFTP.
    const seen = new Set<string>();
    const done = await until('two scheduled runs with a passing drill and an SFTP copy', 300_000, () => {
      const st = JSON.parse(readText(join(s!.root, 'carebox.json'))).backups.status;
      if (st?.drill?.ok && st.offsite?.sftp?.ok) seen.add(st.drill.stamp);
      if (st?.drill && !st.drill.ok) throw new Error(`drill failed: ${st.drill.why}`);
      return seen.size >= 2 && st.offsite.sftp.lastSuccessAt > st.drill.at ? st : null;
    });
    expect(done.lastAttemptOk).to.equal(true);
    expect(done.drill.tables).to.be.greaterThan(3);
    expect(done.offsite.usb.ok).to.equal(true);
    const off = await cli(s!, ['backup', 'schedule', '--off', '--json']);
    expect(off.code, off.stderr).to.equal(0);
    // The running scheduler takes the change without a restart (once a run in progress has finished).
    const [sched] = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${s!.project}`, 'com.docker.compose.service=scheduler'] } });
    await until('the scheduler to pick up --off', 120_000, async () => {
      const logs = (await docker.getContainer(sched!.Id).logs({ stdout: true, stderr: true, tail: 20 })).toString('utf8');
      return /schedule changed: .* off; next run never/.test(logs) ? true : null;
    });
    // Local retention (keep 1) ran after the verified backup: the manual one is gone.
    const locals = readdirSync(join(s!.root, 'backups')).filter((n) => /^\d{8}T\d{6}Z$/.test(n));
    expect(locals).to.not.include(first.json.dir.split('/').pop());
    // restic retention: every copy was made today, so --keep-daily keeps one snapshot per repository.
    const snaps = await cli(s!, ['scheduler', 'run', '--once', '--json'], { timeoutMs: 600_000 });
    expect(snaps.code, snaps.stderr).to.equal(0);
    expect(snaps.json.offsite.map((o: any) => o.snapshots)).to.deep.equal([1, 1]);
    // The scratch containers are gone.
    const drills = await docker.listContainers({ all: true, filters: { label: ['com.carebox.restore-drill'] } });
    expect(drills.filter((c) => c.Labels['com.carebox.install-root'] === s!.root)).to.have.length(0);
    // The metrics file, in Prometheus's text format.
    const prom = readText(join(s!.root, 'metrics/carebox_backup.prom'));
    expect(prom).to.match(/^carebox_backup_last_attempt_success 1$/m);
    expect(prom).to.match(/^carebox_restore_drill_last_attempt_success 1$/m);
    expect(prom).to.match(/^carebox_backup_offsite_last_success_timestamp_seconds\{repository="sftp"\} [1-9]\d+$/m);
    expect(prom).to.match(/^carebox_backup_schedule_missed 0$/m);
    const latest = JSON.parse(readText(join(s!.root, 'carebox.json'))).backups.last;
    lastTables = JSON.parse(readText(join(s!.root, 'backups', latest, 'backup.json'))).tables;
    expect(lastTables['public.patients']).to.equal(57);
  });

  it('restores from the restic repository onto a freshly installed second stack (new root, new secrets)', async () => {
    // Only the repository and its password travel to the new server.
    const pw = join(tmp, 'restic-password');
    writeFileSync(pw, readFileSync(join(s!.root, 'secrets/restic-password')), { mode: 0o600 });
    const oldEnv = readText(join(s!.root, '.env'));
    await teardownTestStack(s);
    s = null;
    s2 = await installTestStack('sched2', 'default');
    expect(readText(join(s2.root, '.env'))).to.not.equal(oldEnv);
    const r = await cli(s2, ['restore', '--from-restic', join(tmp, 'usb-repo'), '--password-file', pw, '--yes', '--json'], { timeoutMs: 900_000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.signed).to.equal(true);
    expect(r.json.tables['public.patients']).to.equal(57);
    const n = await sql(docker, s2.project, 'SELECT count(*) FROM patients;');
    expect(n.trim()).to.equal('57');
    for (const [t, c] of Object.entries(lastTables)) if (t !== 'public.audit_events') expect(r.json.tables[t], t).to.equal(c);
  });

  it('restores from the SFTP repository onto that second stack too (its data changed meanwhile), with only the key and the password', async () => {
    // The second stack has its own root: the SFTP server's host key is pinned anew there (accept-new).
    await sql(docker, s2!.project, 'DELETE FROM patients WHERE id IN (SELECT id FROM patients LIMIT 20);');
    await seedPatients(docker, s2!.project, 3, 'AFTER');
    expect((await sql(docker, s2!.project, 'SELECT count(*) FROM patients;')).trim()).to.equal('40');
    const noKey = await cli(s2!, [
      'restore',
      '--from-restic',
      `sftp://root@127.0.0.1:${sftpPort}/srv/restic`,
      '--password-file',
      join(tmp, 'restic-password'),
      '--yes',
      '--json',
    ]);
    expect(noKey.code, 'an SFTP repository without --ssh-key is a usage error').to.equal(2);
    const r = await cli(
      s2!,
      [
        'restore',
        '--from-restic',
        `sftp://root@127.0.0.1:${sftpPort}/srv/restic`,
        '--ssh-key',
        join(tmp, 'id'),
        '--password-file',
        join(tmp, 'restic-password'),
        '--yes',
        '--json',
      ],
      { timeoutMs: 900_000 },
    );
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    expect(r.json.signed).to.equal(true);
    expect((await sql(docker, s2!.project, 'SELECT count(*) FROM patients;')).trim()).to.equal('57');
    for (const [t, c] of Object.entries(lastTables)) if (t !== 'public.audit_events') expect(r.json.tables[t], t).to.equal(c);
    expect(readText(join(s2!.root, 'restic', 'known_hosts')), 'host key pinned in the new root').to.match(/ ssh-ed25519 /);
  });
});

function bad(r: { code: number }): number {
  return r.code;
}
