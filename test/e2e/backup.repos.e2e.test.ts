/**
 * Issue 13 (item 2) on the real engine: off-host copies to restic's REST server and to an
 * S3-compatible server, and `restore --from-restic` from each.
 *  - REST: restic's own rest-server (Debian forky's restic-rest-server 0.14.0) with an htpasswd
 *    user, so a wrong password is really refused;
 *  - S3: Debian forky's python3-moto 5.1.18 (`moto_server`), an S3-API HTTP server that keeps the
 *    objects in memory and does not check keys. It is used because no other S3-compatible server
 *    installs here; what it proves is restic's S3 protocol end to end (bucket creation, objects,
 *    listing), and that the keys reach restic from the credentials file, not that a real S3 would
 *    accept them.
 * Both run as containers this file creates (test/images/build-repo-standins.sh, from
 * test/setup/prepare-host.sh), published on loopback ports only.
 *
 * Restore target: the same stack after its data changed, not a second installed stack (CI time: a
 * second install costs about a minute). `restore --from-restic` recreates the database from the
 * fetched dump through the same code path as on a new server; the new-server case itself (new
 * root, new secrets) is proven from the local and SFTP repositories in backup.schedule.e2e.test.ts.
 * Only files outside the install root are given to the restores (a copy of the password, the
 * credentials as an admin would write them).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { restic, resticContext } from '../../console/ops/restic.ops.js';
import { freePort, readText, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';
import { cli, installTestStack, seedPatients, sql, teardownTestStack, type TestStack } from './ops.helpers.js';

const REST_IMAGE = 'carebox-standin/rest-server:0.14';
const S3_IMAGE = 'carebox-standin/moto-s3:5.1';
const LABEL = { 'com.carebox.test': 'backup-repos' };
// Characters a URL must escape, so the composition into RESTIC_REPOSITORY is exercised.
const REST_PASSWORD = 'Rest#pw:e2e/Only';
const S3_SECRET = 'S3secretKeyForE2eOnly0123456789';

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; i < 200 && Date.now() < end; i++) {
    const v = await probe();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('e2e: off-host copies to a REST server and S3-compatible storage, and restores from each', function () {
  this.timeout(900_000);
  let docker: Docker;
  let s: TestStack | null = null;
  const tmp = mkdtempSync(join(tmpdir(), 'carebox-repos-'));
  const containers: string[] = [];
  let restPort = 0;
  let s3Port = 0;
  let tables: Record<string, number> = {};
  const secretFile = (name: string, text: string, mode = 0o600) => {
    const f = join(tmp, name);
    writeFileSync(f, text, { mode });
    chmodSync(f, mode);
    return f;
  };
  const noSecrets = (text: string, where: string) => {
    for (const secret of [REST_PASSWORD, encodeURIComponent(REST_PASSWORD), S3_SECRET]) expect(text, where).to.not.contain(secret);
  };

  before(async () => {
    docker = await requireE2ePrereqs();
    for (const image of [REST_IMAGE, S3_IMAGE]) {
      await docker
        .getImage(image)
        .inspect()
        .catch(() => {
          throw new Error(`${image} is missing: run \`bash test/images/build-repo-standins.sh\` (test/setup/prepare-host.sh does)`);
        });
    }
    // rest-server's htpasswd file (bcrypt), made with apache2-utils from its own image.
    mkdirSync(join(tmp, 'rest-data'), { mode: 0o700 });
    execFileSync(
      'docker',
      [
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        `${join(tmp, 'rest-data')}:/data`,
        '--entrypoint',
        'htpasswd',
        REST_IMAGE,
        '-B',
        '-b',
        '-c',
        '/data/.htpasswd',
        'carebox',
        REST_PASSWORD,
      ],
      { stdio: 'ignore' },
    );
    restPort = await freePort();
    s3Port = await freePort();
    for (const [image, port, inner, binds] of [
      [REST_IMAGE, restPort, '8000/tcp', [`${join(tmp, 'rest-data')}:/data`]],
      [S3_IMAGE, s3Port, '5000/tcp', []],
    ] as const) {
      const c = await docker.createContainer({
        Image: image,
        Labels: LABEL,
        ExposedPorts: { [inner]: {} },
        HostConfig: { Binds: [...binds], PortBindings: { [inner]: [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
      });
      containers.push(c.id);
      await c.start();
    }
    s = await installTestStack('repos', 'default', ['--alerts', 'off']);
    await seedPatients(docker, s.project, 31);
    // Both servers answer HTTP (rest-server 401 without a user, moto 200 on its bucket list).
    for (const port of [restPort, s3Port])
      await until(`the server on ${port}`, 30_000, async () =>
        (await fetch(`http://127.0.0.1:${port}/`).then(
          (r) => r.status,
          () => 0,
        )) > 0
          ? true
          : null,
      );
  });

  after(async () => {
    await teardownTestStack(s);
    for (const id of containers)
      await docker
        .getContainer(id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses bad repository URLs, flags and credentials files with exit 2, storing nothing', async () => {
    const s3Creds = secretFile('s3.env', `AWS_ACCESS_KEY_ID=carebox-e2e\nAWS_SECRET_ACCESS_KEY=${S3_SECRET}\n`);
    const cases: [string[], RegExp][] = [
      [['rest:ftp://127.0.0.1/x'], /protocol/],
      [[`rest:http://carebox@127.0.0.1:${restPort}/x`], /both a user and a password/],
      [[`s3:http://127.0.0.1:${s3Port}/`, '--credentials-file', s3Creds], /needs a bucket/],
      [[`s3:http://127.0.0.1:${s3Port}/Bad_Bucket`, '--credentials-file', s3Creds], /bucket name/],
      [[`s3:http://key:${S3_SECRET}@127.0.0.1:${s3Port}/bkt`, '--credentials-file', s3Creds], /S3 keys do not go in the URL/],
      [[`s3:http://127.0.0.1:${s3Port}/carebox-e2e`], /give its keys with --credentials-file/],
      [[`rest:http://127.0.0.1:${restPort}/x`, '--ssh-key', s3Creds], /--ssh-key is for SFTP/],
      [[join(tmp, 'usb'), '--credentials-file', s3Creds], /for REST and S3 repositories only/],
      [[`rest:http://127.0.0.1:${restPort}/x`, '--credentials-file', s3Creds], /unknown key\(s\) AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY/],
      [[`s3:http://127.0.0.1:${s3Port}/carebox-e2e`, '--credentials-file', secretFile('open.env', readText(s3Creds), 0o644)], /readable by others/],
      [['ftp://host/x'], /unknown kind/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(s!, ['backup', 'offsite', 'add', 'bad', ...args, '--json']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.json.error.message, args.join(' ')).to.match(message);
      noSecrets(r.stdout + r.stderr, args.join(' '));
    }
    expect(JSON.parse(readText(join(s!.root, 'carebox.json'))).backups?.offsite ?? []).to.deep.equal([]);
  });

  it('adds a REST repository (credentials given in the URL move to secrets/) and an S3 repository (credentials file)', async () => {
    // A wrong REST password: rest-server answers 401, restic cannot create the repository: exit 1, nothing stored, no password echoed.
    const wrong = await cli(s!, ['backup', 'offsite', 'add', 'rest', `rest:http://carebox:not-it@127.0.0.1:${restPort}/carebox`, '--json']);
    expect(wrong.code, wrong.stderr).to.equal(1);
    expect(wrong.stderr + wrong.stdout).to.not.contain('not-it');
    const url = `rest:http://carebox:${encodeURIComponent(REST_PASSWORD)}@127.0.0.1:${restPort}/carebox`;
    const a = await cli(s!, ['backup', 'offsite', 'add', 'rest', url, '--json']);
    expect(a.code, a.stderr).to.equal(0);
    expect(a.json.created).to.equal(true);
    expect(a.json.url).to.equal(`rest:http://127.0.0.1:${restPort}/carebox/`);
    expect(a.stderr).to.match(/warning: the password in the URL was visible/);
    const b = await cli(s!, [
      'backup',
      'offsite',
      'add',
      's3',
      `s3:http://127.0.0.1:${s3Port}/carebox-e2e/site-a`,
      '--credentials-file',
      join(tmp, 's3.env'),
      '--json',
    ]);
    expect(b.code, b.stderr).to.equal(0);
    expect(b.json.created).to.equal(true);
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(m.backups.offsite.map((r: any) => [r.name, r.url, r.credentialsFile])).to.deep.equal([
      ['rest', `rest:http://127.0.0.1:${restPort}/carebox/`, join(s!.root, 'secrets/restic-rest.credentials')],
      ['s3', `s3:http://127.0.0.1:${s3Port}/carebox-e2e/site-a`, join(s!.root, 'secrets/restic-s3.credentials')],
    ]);
    for (const name of ['rest', 's3']) expect(statSync(join(s!.root, `secrets/restic-${name}.credentials`)).mode & 0o777, name).to.equal(0o600);
    expect(JSON.parse(readText(join(s!.root, 'secrets/restic-rest.credentials')))).to.deep.equal({
      RESTIC_REST_USERNAME: 'carebox',
      RESTIC_REST_PASSWORD: REST_PASSWORD,
    });
    noSecrets(readText(join(s!.root, 'carebox.json')), 'carebox.json');
    const log = readText(join(s!.root, 'operations.log'));
    expect(log).to.contain('rest:http://carebox:***@127.0.0.1');
    noSecrets(log, 'operations.log');
    noSecrets(a.stdout + a.stderr + b.stdout + b.stderr, 'CLI output');
  });

  it('copies a verified backup to both; restic check passes on each', async () => {
    const r = await cli(s!, ['scheduler', 'run', '--once', '--json'], { timeoutMs: 600_000 });
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    expect(r.json.offsite.map((o: any) => [o.name, o.ok, o.snapshots])).to.deep.equal([
      ['rest', true, 1],
      ['s3', true, 1],
    ]);
    noSecrets(r.stdout + r.stderr, 'scheduler run');
    const m = JSON.parse(readText(join(s!.root, 'carebox.json')));
    tables = JSON.parse(readText(join(s!.root, 'backups', m.backups.last, 'backup.json'))).tables;
    expect(tables['public.patients']).to.equal(31);
    const ctx = resticContext(docker, s!.root, JSON.parse(readText(STANDINS)).restic);
    for (const repo of m.backups.offsite) {
      const c = await restic(ctx, repo, ['check'], { timeoutMs: 300_000 });
      expect(c.code, `${repo.name}: ${c.stderr}`).to.equal(0);
      expect(c.stdout, repo.name).to.match(/no errors were found/);
    }
  });

  for (const kind of ['rest', 's3'] as const) {
    it(`restore --from-restic from the ${kind === 'rest' ? 'REST server' : 'S3 server'} replaces changed data; the row counts match the backup`, async () => {
      // The data changes after the backup: rows removed and others added.
      await sql(docker, s!.project, 'DELETE FROM patients WHERE id IN (SELECT id FROM patients LIMIT 10);');
      await seedPatients(docker, s!.project, 4, `NEW${kind}`);
      expect((await sql(docker, s!.project, 'SELECT count(*) FROM patients;')).trim()).to.equal('25');
      const pw = secretFile('restic-password', readFileSync(join(s!.root, 'secrets/restic-password'), 'utf8'));
      const creds = kind === 'rest' ? secretFile('rest.env', `RESTIC_REST_USERNAME=carebox\nRESTIC_REST_PASSWORD='${REST_PASSWORD}'\n`) : join(tmp, 's3.env');
      const url = kind === 'rest' ? `rest:http://127.0.0.1:${restPort}/carebox` : `s3:http://127.0.0.1:${s3Port}/carebox-e2e/site-a`;
      const r = await cli(s!, ['restore', '--from-restic', url, '--credentials-file', creds, '--password-file', pw, '--yes', '--json'], { timeoutMs: 600_000 });
      expect(r.code, r.stderr.slice(-3000)).to.equal(0);
      expect(r.json.signed).to.equal(true);
      noSecrets(r.stdout + r.stderr, 'restore');
      expect((await sql(docker, s!.project, 'SELECT count(*) FROM patients;')).trim()).to.equal('31');
      for (const [t, c] of Object.entries(tables)) if (t !== 'public.audit_events') expect(r.json.tables[t], t).to.equal(c);
    });
  }
});
