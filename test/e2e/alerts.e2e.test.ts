/**
 * Alerts that reach a person (issue 13, item 4), end to end with real parts: one stack installed
 * with `--alerts stack` (real Prometheus, Alertmanager and exporters: the Debian stand-ins), an SMTP
 * sink (Debian's python3-aiosmtpd, its Maildir handler writing each mail to a file) and a webhook
 * receiver (a small Python HTTP server writing each POST body to a file), both containers on the
 * stack's network. Things are broken for real and the test waits for the mail and the webhook call:
 * an expiring TLS certificate, backup/drill metrics with old timestamps (written the way the backup
 * side writes them: prom-client's Registry into node_exporter's textfile directory), a full disk
 * (<root>/metrics, which node-exporter watches as the install root's disk, is a 16 MiB tmpfs), Redis stopped, the backend replica stopped, PostgreSQL stopped while
 * the API is asked (5xx), and a process the kernel kills for memory; a PostgreSQL lock that real
 * writes through nginx wait on (p95 above the plan's target), the queue worker stopped while the
 * API keeps queueing jobs (a growing queue), a steady decline of free space that only the 24 h
 * prediction sees, and a restore drill that fails for a real reason (its scheduled run skips
 * retention). A fresh install raises none of the backup and drill alerts.
 * `for:` durations and Alertmanager's waits are shortened by the test-only
 * CAREBOX_TEST_ALERT_FOR_SCALE (0.05: 2 min → 6 s, 10 min → 30 s, 15 min → 45 s); the rate and
 * prediction windows (5 min, 6 h) are the product's. What the scale cannot shorten (26 h, 8 days,
 * a 6 h decline) is proven by promtool (test/integration/render/alert-rules.promtool.test.ts).
 * Needs root (mount a tmpfs) and the monitoring stand-ins (test/images/build-monitoring-standins.sh).
 */
import { expect } from 'chai';
import type Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gauge, Registry } from 'prom-client';
import { carebox, freePort, projectResources, requireE2ePrereqs, STANDINS } from './e2e.helpers.js';
import { apiCall, containersOf, signInAdmin, type TestStack } from './ops.helpers.js';
import { makeTestCerts } from '../tls.fixtures.js';
import { MONITORING_SERVICES } from '../../installer/plan/monitoring.sizing.js';
import { projectNameFor } from '../../installer/apply/project.name.js';
import { execIn } from '../../installer/runtime/container.exec.js';
import { INSTALL_FILES } from '../../installer/paths.js';
import { openStack } from '../../console/ops/stack.js';
import { runRestoreDrill } from '../../console/ops/restore.drill.js';
import { BACKUP_MANIFEST, DUMP_FILE } from '../../console/ops/backup.ops.js';

const FOR_SCALE = '0.05';
const SINK_TAG = 'carebox-standin/smtp-sink:1.4';

/** The webhook receiver: every POST body becomes /out/<n>.json. */
const WEBHOOK_PY = `
import http.server, itertools, os
n = itertools.count()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        tmp = '/out/.%d.tmp' % next(n)
        with open(tmp, 'wb') as f: f.write(body)
        os.rename(tmp, tmp.replace('/.', '/').replace('.tmp', '.json'))
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('0.0.0.0', 8080), H).serve_forever()
`;

function sh(argv: string[], timeoutMs = 60_000): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('alerts e2e: real Prometheus, Alertmanager, SMTP sink and webhook', function () {
  this.timeout(900_000);
  let docker: Docker;
  let base = '';
  let root = '';
  let mail = '';
  let hooks = '';
  let project = '';
  let port = 0;
  const sinks: string[] = [];
  let mounted = false;
  let metricsDir = '';
  let admin: { username: string; oneTimePassword: string } | null = null;
  let token = '';
  let redisVolume = '';
  /** The backup the failed scheduled run did not prune (the drill-failure tests). */
  let keptStamp = '';

  /** Wait (bounded) until the API answers ready through nginx again after a service restart. */
  async function waitReady(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 120 && Date.now() < deadline; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
      if (r?.status === 200) return;
      await new Promise((res) => setTimeout(res, 1000));
    }
    throw new Error('the stack did not become ready again');
  }

  /** File names of the mails and webhook calls received so far (to wait for new ones only). */
  const received = (): Set<string> => new Set([...(existsSync(join(mail, 'new')) ? readdirSync(join(mail, 'new')) : []), ...readdirSync(hooks)]);
  /** Every mail in the sink's Maildir (new/) not in `skip`, quoted-printable soft breaks and escapes decoded. */
  const mails = (skip: Set<string> = new Set()): string[] => {
    const dir = join(mail, 'new');
    const qp = (t: string) => t.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => !skip.has(f))
          .map((f) => qp(readFileSync(join(dir, f), 'utf8')))
      : [];
  };
  /** Firing mails naming `alert` and listing every label of `labels` (the template's `name = value`). */
  const firingMails = (alert: string, labels: Record<string, string> = {}, skip: Set<string> = new Set()): string[] =>
    mails(skip).filter((x) => x.includes('FIRING') && x.includes(alert) && Object.entries(labels).every(([k, v]) => x.includes(`${k} = ${v}`)));
  /** Every webhook payload received (not in `skip`). */
  const webhooks = (skip: Set<string> = new Set()): { status: string; alerts: { labels: Record<string, string>; status: string }[] }[] =>
    readdirSync(hooks)
      .filter((f) => f.endsWith('.json') && !skip.has(f))
      .map((f) => JSON.parse(readFileSync(join(hooks, f), 'utf8')));

  /**
   * Wait (bounded) until a firing mail and a webhook call name `alert` (with `labels`, when given:
   * the webhook's alert carries them, the mail lists them). `skip`: mails and calls received
   * before (see received()), to wait for a new notification.
   */
  async function waitForAlert(
    alert: string,
    timeoutMs = 180_000,
    labels: Record<string, string> = {},
    skip: Set<string> = new Set(),
  ): Promise<{ mail: string }> {
    const deadline = Date.now() + timeoutMs;
    const matches = (a: { labels: Record<string, string> }) => a.labels.alertname === alert && Object.entries(labels).every(([k, v]) => a.labels[k] === v);
    for (let i = 0; i < 400 && Date.now() < deadline; i++) {
      const m = firingMails(alert, labels, skip)[0];
      const w = webhooks(skip).find((p) => p.status === 'firing' && p.alerts.some((a) => matches(a) && a.status === 'firing'));
      if (m && w) return { mail: m };
      await new Promise((r) => setTimeout(r, 2000));
    }
    const firing = await carebox(['alerts', '--all', '--json', '--dir', root]);
    throw new Error(
      `no mail and webhook for ${alert}${Object.keys(labels).length ? ` ${JSON.stringify(labels)}` : ''} within ${timeoutMs / 1000} s; mails: ${mails().length}, webhooks: ${webhooks().length}; Alertmanager holds: ${JSON.stringify(firing.json?.alerts?.map((a: { name: string }) => a.name))}`,
    );
  }

  async function service(name: string) {
    const [c] = await containersOf(docker, project, name);
    if (!c) throw new Error(`no ${name} container`);
    return docker.getContainer(c.Id);
  }

  before(async function () {
    docker = await requireE2ePrereqs();
    const images = JSON.parse(readFileSync(STANDINS, 'utf8')) as Record<string, string>;
    if (!images.prometheus || !existsSync(STANDINS)) throw new Error('monitoring stand-ins missing: run bash test/images/build-monitoring-standins.sh');
    base = await mkdtemp(join(tmpdir(), 'carebox-alerts-'));
    root = join(base, 'root');
    mail = join(base, 'mail');
    hooks = join(base, 'hooks');
    for (const d of [root, mail, hooks]) await mkdir(d, { recursive: true });
    // The sinks run as the image's user (nobody); aiosmtpd's Mailbox handler expects a Maildir.
    for (const d of ['new', 'cur', 'tmp']) await mkdir(join(mail, d));
    for (const d of ['', 'new', 'cur', 'tmp']) await chmod(join(mail, d), 0o777);
    await chmod(hooks, 0o777);
    // <root>/metrics (node-exporter's view of the install root's disk) on a 16 MiB tmpfs of its own:
    // the disk the disk alerts watch can be filled for real without filling this machine's disk.
    metricsDir = join(root, INSTALL_FILES.metricsDir);
    await mkdir(metricsDir, { recursive: true });
    sh(['mount', '-t', 'tmpfs', '-o', 'size=16m,mode=0755', 'tmpfs', metricsDir]);
    mounted = true;
    // Mail goes through SMTP_URL in .env, as the server's does (an admin adds it; install keeps it).
    await writeFile(join(root, '.env'), 'SMTP_URL=smtp://smtp-sink:2525\nMAIL_FROM=Carebox Alerts <alerts@carebox.test>\n', { mode: 0o600 });
    // Redis's data volume on an 8 MiB tmpfs, created before the install (Compose takes the existing
    // volume of that name): the last test fills it for real, so Redis's append-only file cannot be
    // written and Redis refuses writes (MISCONF), as on a full disk.
    redisVolume = `${projectNameFor(root)}_redis-data`;
    const [uid, gid] = ['-u', '-g'].map((f) => sh(['docker', 'run', '--rm', '--network', 'none', '--entrypoint', 'id', images.redis!, f]).trim());
    sh([
      'docker',
      'volume',
      'create',
      '--driver',
      'local',
      '--opt',
      'type=tmpfs',
      '--opt',
      'device=tmpfs',
      '--opt',
      `o=size=8m,uid=${uid},gid=${gid}`,
      redisVolume,
    ]);
    // A certificate that expires in 5 days: inside 21 and 7.
    const certs = makeTestCerts('carebox.test', 5);
    port = await freePort();
    const httpsPort = await freePort();
    const r = await carebox(
      [
        'install',
        '--yes',
        '--json',
        '--dir',
        root,
        '--tier',
        'default',
        '--http-port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--images',
        STANDINS,
        '--tls-cert',
        certs.cert,
        '--tls-key',
        certs.key,
        '--https-port',
        String(httpsPort),
        '--alerts',
        'stack',
        '--alert-email',
        'oncall@hospital.test',
        '--alert-webhook',
        'http://webhook-sink:8080/hook',
      ],
      { env: { CAREBOX_TEST_ALERT_FOR_SCALE: FOR_SCALE } },
    );
    if (r.code !== 0) throw new Error(`install failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
    project = r.json.project;
    admin = r.json.admin;
    const network = `${project}_internal`;
    const run = (name: string, alias: string, args: string[]) => {
      const id = sh(['docker', 'run', '-d', '--name', `${project}-${name}`, '--network', network, '--network-alias', alias, '--memory', '64m', ...args]).trim();
      sinks.push(id);
    };
    // A signed-in admin for the API traffic of the PostgreSQL test (its session lives in Redis).
    token = await signInAdmin({ url: `http://127.0.0.1:${port}`, admin } as TestStack);
    run('smtp-sink', 'smtp-sink', [
      '-v',
      `${mail}:/mail`,
      '--entrypoint',
      'python3',
      SINK_TAG,
      '-m',
      'aiosmtpd',
      '-n',
      '-l',
      '0.0.0.0:2525',
      '-c',
      'aiosmtpd.handlers.Mailbox',
      '/mail',
    ]);
    run('webhook-sink', 'webhook-sink', ['-v', `${hooks}:/out`, '--entrypoint', 'python3', SINK_TAG, '-c', WEBHOOK_PY]);
    // Both sinks must listen before the first alert leaves: a notification Alertmanager cannot
    // deliver is retried with a growing backoff, which would delay every later test's mail.
    for (const [id, sinkPort] of [
      [sinks[0]!, 2525],
      [sinks[1]!, 8080],
    ] as const) {
      const probe = `import socket; socket.create_connection(('127.0.0.1', ${sinkPort}), 1).close()`;
      let ready = false;
      for (let i = 0; i < 120 && !ready; i++) {
        try {
          sh(['docker', 'exec', id, 'python3', '-c', probe], 10_000);
          ready = true;
        } catch {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      if (!ready) throw new Error(`the ${sinkPort === 2525 ? 'SMTP' : 'webhook'} sink did not listen within 60 s`);
    }
    // Alertmanager's API answers before the tests start (on a loaded machine its first minute can be slow).
    let last = '';
    for (let i = 0; i < 60; i++) {
      const r = await carebox(['alerts', '--json', '--dir', root]);
      if (r.code === 0) {
        last = '';
        break;
      }
      last = r.stderr;
      await new Promise((res) => setTimeout(res, 2000));
    }
    if (last) throw new Error(`Alertmanager did not answer within 120 s: ${last.slice(-500)}`);
  });

  after(async function () {
    for (const id of sinks) {
      try {
        sh(['docker', 'rm', '-f', id]);
      } catch {
        /* already gone */
      }
    }
    // Lazily: node-exporter holds the mount until uninstall removes it.
    if (mounted) {
      try {
        sh(['umount', '-l', metricsDir]);
      } catch {
        /* not mounted */
      }
    }
    if (root && existsSync(join(root, 'carebox.json'))) await carebox(['uninstall', '--dir', root, '--purge', '--yes']);
    if (redisVolume) {
      try {
        sh(['docker', 'volume', 'rm', '-f', redisVolume]);
      } catch {
        /* removed with the stack */
      }
    }
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('runs every monitoring service healthy, with rotated json-file logs and no published port (docker inspect)', async () => {
    for (const name of MONITORING_SERVICES) {
      const info = await (await service(name)).inspect();
      expect(info.State.Running, name).to.equal(true);
      expect(info.HostConfig.LogConfig!.Type, name).to.equal('json-file');
      expect(info.HostConfig.LogConfig!.Config['max-size'], name).to.match(/^\d+[kmg]$/);
      expect(info.HostConfig.LogConfig!.Config['max-file'], name).to.match(/^\d+$/);
      expect(Object.keys(info.HostConfig.PortBindings ?? {}), name).to.deep.equal([]);
      expect(info.HostConfig.Memory, name).to.be.greaterThan(0);
    }
    const { containers } = await projectResources(docker, project);
    expect(containers.filter((c) => MONITORING_SERVICES.includes(c.Labels['com.docker.compose.service'] as never))).to.have.length(MONITORING_SERVICES.length);
  });

  it('`carebox alerts test` sends a test notification through Alertmanager to the SMTP sink and the webhook', async () => {
    const r = await carebox(['alerts', 'test', '--json', '--dir', root, '--timeout', '120']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.integrations.email.attempted).to.be.greaterThan(0);
    expect(r.json.integrations.webhook.attempted).to.be.greaterThan(0);
    const { mail: m } = await waitForAlert('CareboxTest', 60_000);
    expect(m).to.contain('To: oncall@hospital.test');
    expect(m).to.contain('carebox alerts test');
  });

  it('a TLS certificate that expires in 5 days raises both certificate alerts', async () => {
    await waitForAlert('TlsCertificateExpiresVerySoon');
    await waitForAlert('TlsCertificateExpiresSoon');
  });

  it('a fresh install (no backup or drill yet) raises none of the backup and drill alerts', async () => {
    // The metrics file install wrote: nothing happened yet, the install time is the baseline.
    const prom = readFileSync(join(metricsDir, 'carebox_backup.prom'), 'utf8');
    expect(prom).to.match(/^carebox_backup_last_success_timestamp_seconds 0$/m);
    expect(prom).to.match(/^carebox_install_timestamp_seconds [1-9]\d+$/m);
    // The certificate rule is in the same rule group: once it fired, Prometheus has evaluated the
    // backup and drill rules on this file too. One more round of evaluation and notification (5 s,
    // more than twice the scaled evaluation interval and group wait), then none of these holds.
    await waitForAlert('TlsCertificateExpiresVerySoon');
    await new Promise((r) => setTimeout(r, 5000));
    const all = await carebox(['alerts', '--all', '--json', '--dir', root]);
    expect(all.code, all.stderr).to.equal(0);
    const names = all.json.alerts.map((a: { name: string }) => a.name);
    for (const a of ['BackupMissing', 'RestoreDrillMissing', 'RestoreDrillFailed', 'BackupFailed', 'BackupScheduleMissed', 'BackupRefusedNoSpace']) {
      expect(names, `${a} on a fresh install`).to.not.include(a);
      expect(firingMails(a), `a mail for ${a}`).to.have.length(0);
    }
  });

  it('backup and drill metrics (the textfile the backup side writes) raise BackupMissing, RestoreDrillMissing, BackupFailed, BackupRefusedNoSpace, BackupScheduleMissed and RestoreDrillFailed', async () => {
    // Written as the backup side writes it (the contract): prom-client's exposition, temp file + rename.
    const registry = new Registry();
    const now = Date.now() / 1000;
    const g = (name: string, v: number) => new Gauge({ name, help: name, registers: [registry] }).set(v);
    // The last verified backup 30 h ago; since then one attempt failed and one was refused for
    // lack of space; the schedule missed a run; the last passing drill 9 days ago, the last one failed.
    g('carebox_backup_last_success_timestamp_seconds', now - 30 * 3600);
    g('carebox_backup_last_attempt_timestamp_seconds', now - 2 * 3600);
    g('carebox_backup_last_attempt_success', 0);
    g('carebox_restore_drill_last_success_timestamp_seconds', now - 9 * 86400);
    g('carebox_restore_drill_last_attempt_success', 0);
    g('carebox_restore_drill_last_attempt_timestamp_seconds', now - 2 * 3600);
    // Installed 40 days ago: the install time is no excuse for these.
    g('carebox_install_timestamp_seconds', now - 40 * 86400);
    g('carebox_backup_refused_timestamp_seconds', now - 3600);
    g('carebox_backup_schedule_missed', 1);
    const dir = metricsDir;
    await writeFile(join(dir, '.carebox_backup.prom.tmp'), await registry.metrics(), { mode: 0o644 });
    sh(['mv', join(dir, '.carebox_backup.prom.tmp'), join(dir, 'carebox_backup.prom')]);
    for (const alert of ['BackupMissing', 'RestoreDrillMissing', 'BackupFailed', 'BackupRefusedNoSpace', 'BackupScheduleMissed', 'RestoreDrillFailed'])
      await waitForAlert(alert);
  });

  it('a steady decline of free space, far above 15 % free, raises DiskWillFillIn24h from the prediction alone', async () => {
    // The install root's disk only (Docker's data root is this machine's shared disk: other work may
    // fill it at any time). Not firing for it before the decline; then a new notification must come.
    const watched = { mountpoint: '/host/carebox' };
    const now = await carebox(['alerts', '--json', '--dir', root]);
    expect(now.code, now.stderr).to.equal(0);
    const firingHere = (a: { name: string; labels: Record<string, string> }) => a.name === 'DiskWillFillIn24h' && a.labels.mountpoint === watched.mountpoint;
    expect(now.json.alerts.filter(firingHere), 'nothing declined yet').to.have.length(0);
    const before = received();
    // 128 KiB every 2 s (64 KiB/s: ~5 GiB in 24 h by predict_linear over the product's 6 h window),
    // at most 60 files (7.5 MiB): the 16 MiB tmpfs stays above half free, so no threshold is crossed.
    let stop = false;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < 60 && !stop; i++) {
        await writeFile(join(metricsDir, `steady-${i}.bin`), Buffer.alloc(128 * 1024, 1));
        written = i + 1;
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    try {
      await waitForAlert('DiskWillFillIn24h', 150_000, watched, before);
      const free = Number(sh(['df', '--output=avail', '-B1', metricsDir]).split('\n')[1]);
      expect(free / (16 * 1024 * 1024), `free when it fired (${written} files written)`).to.be.greaterThan(0.4);
      expect(firingMails('DiskSpaceLow', watched), 'no threshold was crossed').to.have.length(0);
    } finally {
      stop = true;
      await writer;
      for (let i = 0; i < 60; i++) await rm(join(metricsDir, `steady-${i}.bin`), { force: true });
    }
  });

  it('a full disk (the metrics tmpfs past 95 %) raises DiskSpaceCritical and DiskSpaceLow', async () => {
    const filler = join(metricsDir, 'filler.bin');
    const free = Number(sh(['df', '--output=avail', '-B1', metricsDir]).split('\n')[1]);
    // Leave 256 KiB: under 5 % of the 16 MiB tmpfs.
    sh(['fallocate', '-l', String(Math.max(0, free - 256 * 1024)), filler]);
    try {
      await waitForAlert('DiskSpaceCritical');
      await waitForAlert('DiskSpaceLow');
    } finally {
      await rm(filler, { force: true });
    }
  });

  it("writes through nginx that wait on a PostgreSQL lock are slow for real: HttpLatencyHigh fires (p95 above the plan's target), and none of them fails", async () => {
    const url = `http://127.0.0.1:${port}`;
    const [db] = await containersOf(docker, project, 'db');
    // A session in the db container takes SHARE on patients for 1 s, commits, and takes it again
    // (bounded: 150 rounds): every new patient (ROW EXCLUSIVE) waits for the current round.
    const lockSql = 'DO $$ BEGIN FOR i IN 1..150 LOOP LOCK TABLE patients IN SHARE MODE; PERFORM pg_sleep(1); COMMIT; END LOOP; END $$';
    const holder = execIn(docker, db!.Id, ['psql', '-U', 'carebox', '-d', 'carebox', '-qAtc', lockSql], { timeoutMs: 200_000 }).catch(() => null);
    let stop = false;
    const statuses = new Map<number, number>();
    const took: number[] = [];
    // One authenticated client, one write at a time with a 200 ms pause (bounded count and time).
    const traffic = (async () => {
      const end = Date.now() + 190_000;
      for (let i = 0; i < 400 && !stop && Date.now() < end; i++) {
        const t0 = Date.now();
        const r = await apiCall(url, 'POST', '/patients', token, {
          mrn: `LAT-${i}`,
          givenName: 'Latency',
          familyName: `Test${i}`,
          birthDate: '1980-01-01',
          sex: 'unknown',
        }).catch(() => null);
        took.push(Date.now() - t0);
        statuses.set(r?.status ?? 0, (statuses.get(r?.status ?? 0) ?? 0) + 1);
        await new Promise((res) => setTimeout(res, 200));
      }
    })();
    try {
      await waitForAlert('HttpLatencyHigh', 180_000).catch((err: Error) => {
        throw new Error(`${err.message}; answers: ${JSON.stringify([...statuses])}; client-side times (ms): ${took.slice(-20).join(' ')}`);
      });
    } finally {
      stop = true;
      await traffic;
      await execOut('db', [
        'psql',
        '-U',
        'carebox',
        '-d',
        'carebox',
        '-qAtc',
        "select pg_terminate_backend(pid) from pg_stat_activity where query like 'DO $$ BEGIN FOR i IN 1..150 LOOP LOCK TABLE patients%' and pid <> pg_backend_pid()",
      ]);
      await holder;
    }
    // Slow, never failed: every write got its 201.
    expect([...statuses.keys()], JSON.stringify([...statuses])).to.deep.equal([201]);
    const sorted = [...took].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)], 'median write through nginx, ms').to.be.greaterThan(200);
  });

  it('the queue worker stopped while the API keeps queueing reports: QueueGrowing fires, and the queue drains once the worker is back', async () => {
    const url = `http://127.0.0.1:${port}`;
    const workers = await containersOf(docker, project, 'worker');
    expect(workers.length, 'worker containers').to.be.greaterThan(0);
    for (const w of workers) await docker.getContainer(w.Id).stop({ t: 30 });
    let stop = false;
    const statuses = new Map<number, number>();
    // An admin asks for the daily summary once a second (bounded count and time): each is a job.
    const traffic = (async () => {
      const end = Date.now() + 200_000;
      for (let i = 0; i < 200 && !stop && Date.now() < end; i++) {
        const r = await apiCall(url, 'POST', '/reports/daily-summary', token, {}).catch(() => null);
        statuses.set(r?.status ?? 0, (statuses.get(r?.status ?? 0) ?? 0) + 1);
        await new Promise((res) => setTimeout(res, 1000));
      }
    })();
    try {
      await waitForAlert('QueueGrowing', 180_000, { queue: 'reports' }).catch(async (err: Error) => {
        const q = await apiCall(url, 'GET', '/queues', token).catch(() => null);
        throw new Error(`${err.message}; answers: ${JSON.stringify([...statuses])}; queues: ${JSON.stringify(q?.body)}`);
      });
    } finally {
      stop = true;
      await traffic;
      for (const w of workers)
        await docker
          .getContainer(w.Id)
          .start()
          .catch(() => undefined);
    }
    expect([...statuses.keys()], JSON.stringify([...statuses])).to.deep.equal([202]);
    // The worker back: the waiting jobs run (bounded wait).
    let waiting = -1;
    for (let i = 0; i < 60; i++) {
      const q = await apiCall(url, 'GET', '/queues', token);
      waiting = q.body.queues.find((x: { queue: string }) => x.queue === 'reports')?.waiting ?? -1;
      if (waiting === 0) break;
      await new Promise((res) => setTimeout(res, 2000));
    }
    expect(waiting, 'reports jobs still waiting 2 min after the worker started').to.equal(0);
  });

  it('Redis stopped raises RedisDown, and `carebox alerts` lists it', async () => {
    const redis = await service('redis');
    await redis.stop({ t: 30 });
    try {
      await waitForAlert('RedisDown');
      // Alertmanager holds what Prometheus last sent it: poll briefly (bounded) for the list to show it.
      let names: string[] = [];
      for (let i = 0; i < 15 && !names.includes('RedisDown'); i++) {
        const r = await carebox(['alerts', '--json', '--dir', root]);
        expect(r.code, r.stderr).to.equal(0);
        names = r.json.alerts.map((a: { name: string }) => a.name);
        if (!names.includes('RedisDown')) await new Promise((res) => setTimeout(res, 2000));
      }
      expect(names, JSON.stringify(names)).to.include('RedisDown');
    } finally {
      await redis.start();
      await waitReady();
    }
  });

  it('the backend replica stopped raises BackendReplicasMissing', async () => {
    const backend = await service('backend');
    await backend.stop({ t: 10 });
    try {
      await waitForAlert('BackendReplicasMissing');
    } finally {
      await backend.start();
      await waitReady();
    }
  });

  it("PostgreSQL stopped raises PostgresDown, and the API's 5xx answers raise HttpErrorRateHigh", async () => {
    await waitReady();
    // Sign in again: Redis's volume is a tmpfs (see before), so its restart above dropped the sessions.
    const login = await apiCall(`http://127.0.0.1:${port}`, 'POST', '/auth/login', null, { username: admin!.username, password: 'ward-7-upgrade-night-2026' });
    expect(login.status, JSON.stringify(login.body)).to.equal(200);
    token = login.body.token as string;
    const db = await service('db');
    // The grace Compose gives it (stop_grace_period 60 s): a clean shutdown, as an admin's stop would be.
    await db.stop({ t: 60 });
    // Authenticated writes through nginx (the session lives in Redis; reads may come from the
    // cache): each new patient is a 503 while PostgreSQL is down (bounded loop). Health checks do
    // not count for the rule.
    let stop = false;
    const statuses = new Map<number, number>();
    const traffic = (async () => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const r = await apiCall(`http://127.0.0.1:${port}`, 'POST', '/patients', token, {
          mrn: `ALERT-${i}`,
          givenName: 'Alert',
          familyName: `Test${i}`,
          birthDate: '1980-01-01',
          sex: 'unknown',
        }).catch(() => null);
        if (r) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        await new Promise((res) => setTimeout(res, 250));
      }
    })();
    try {
      await waitForAlert('PostgresDown');
      await waitForAlert('HttpErrorRateHigh').catch((err: Error) => {
        throw new Error(`${err.message}; API answers while PostgreSQL was down: ${JSON.stringify([...statuses])}`);
      });
    } finally {
      stop = true;
      await traffic;
      // Recreated, not restarted: Docker 20.10 loses a tmpfs's mode on a container restart, and
      // PostgreSQL then cannot create its socket lock in /var/run/postgresql (found here; reported).
      sh(['docker', 'compose', '-p', project, '-f', join(root, 'compose.yml'), 'up', '-d', '--force-recreate', '--no-deps', 'db'], 180_000);
      await waitReady();
    }
  });

  it('a process the kernel kills for memory raises ContainerKilledForMemory', async () => {
    const images = JSON.parse(readFileSync(STANDINS, 'utf8')) as { node: string };
    // A container of this test with a 32 MiB limit that allocates past it: the kernel's OOM killer ends it.
    let code = 0;
    try {
      sh(
        [
          'docker',
          'run',
          '--rm',
          '--memory',
          '32m',
          '--memory-swap',
          '32m',
          '--name',
          `${project}-oom`,
          images.node,
          'node',
          '-e',
          'const a=[];for(let i=0;i<4096;i++)a.push(Buffer.alloc(1<<20,1))',
        ],
        120_000,
      );
    } catch (err) {
      code = (err as { status?: number }).status ?? -1;
    }
    expect(code, 'the allocating container must be killed (137)').to.equal(137);
    await waitForAlert('ContainerKilledForMemory');
  });

  it('`carebox alerts silence` silences one alert by name: gone from the list, shown as suppressed with --all, logged in history', async () => {
    const before = await carebox(['alerts', '--json', '--dir', root]);
    expect(before.json.alerts.map((a: { name: string }) => a.name)).to.include('BackupMissing');
    const r = await carebox(['alerts', 'silence', 'BackupMissing', '--for', '1h', '--comment', 'drill', '--json', '--dir', root]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.silenceId).to.be.a('string');
    const after = await carebox(['alerts', '--json', '--dir', root]);
    expect(after.json.alerts.map((a: { name: string }) => a.name)).to.not.include('BackupMissing');
    const all = await carebox(['alerts', '--all', '--json', '--dir', root]);
    expect(all.json.alerts.find((a: { name: string }) => a.name === 'BackupMissing')?.state).to.equal('suppressed');
    const h = await carebox(['history', '--json', '--dir', root]);
    expect(h.json.entries.map((e: { verb: string }) => e.verb)).to.include('alerts silence');
    const bad = await carebox(['alerts', 'silence', 'BackupMissing', '--for', '1y', '--dir', root]);
    expect(bad.code).to.equal(2);
  });

  it('a scheduled run whose restore drill fails for a real reason records why, raises RestoreDrillFailed with the reason by mail and webhook, and skips retention', async () => {
    // One backup, keeping 1: a retention run after the next backup would remove it.
    const first = await carebox(['backup', '--keep', '1', '--json', '--dir', root], { timeoutMs: 300_000 });
    expect(first.code, first.stderr.slice(-2000)).to.equal(0);
    const firstStamp = String(first.json.dir).split('/').pop()!;
    keptStamp = firstStamp;
    // The real reason: the live database lacks a migration the running server has (its oldest
    // one's row in knex_migrations, as after a migration that never ran; readiness checks only the
    // latest, so the stack keeps serving). The drill's migrations check must catch it.
    const row = (
      await execOut('db', [
        'psql',
        '-U',
        'carebox',
        '-d',
        'carebox',
        '-AtF',
        '|',
        '-c',
        'select id, name, batch, migration_time from knex_migrations order by id limit 1',
      ])
    ).trim();
    const [id, name, batch, at] = row.split('|');
    expect(name, row).to.match(/^\d{14}/);
    await execOut('db', ['psql', '-U', 'carebox', '-d', 'carebox', '-qAtc', `delete from knex_migrations where id = ${Number(id)}`]);
    try {
      const r = await carebox(['scheduler', 'run', '--once', '--json', '--dir', root], { timeoutMs: 600_000 });
      expect(r.code, r.stderr.slice(-2000)).to.equal(1);
      expect(r.json.backupOk).to.equal(true);
      expect(r.json.drill.ok).to.equal(false);
      expect(r.json.drill.reason).to.equal('migrations_missing');
      expect(r.json.drill.why).to.contain(name);
      expect(r.json.pruned, 'retention after a failed drill').to.deep.equal([]);
      // Recorded in carebox.json, and in the metrics textfile with its reason.
      const st = JSON.parse(readFileSync(join(root, 'carebox.json'), 'utf8')).backups.status;
      expect(st.drill).to.include({ ok: false, reason: 'migrations_missing', stamp: r.json.stamp });
      expect(st.drill.why).to.match(/lacks 1 migration/);
      const prom = readFileSync(join(metricsDir, 'carebox_backup.prom'), 'utf8');
      expect(prom).to.match(/^carebox_restore_drill_last_attempt_success\{reason="migrations_missing"\} 0$/m);
      expect(prom).to.match(/^carebox_restore_drill_last_attempt_timestamp_seconds [1-9]\d+$/m);
      // Retention did not run: the older backup is still there beside the new one.
      const local = readdirSync(join(root, 'backups')).filter((n) => /^\d{8}T\d{6}Z$/.test(n));
      expect(local).to.include.members([firstStamp, r.json.stamp]);
      // The scratch container is gone.
      const scratch = await docker.listContainers({ all: true, filters: { label: ['com.carebox.restore-drill'] } });
      expect(scratch.filter((c) => c.Labels['com.carebox.install-root'] === root)).to.have.length(0);
      const { mail: m } = await waitForAlert('RestoreDrillFailed', 180_000, { reason: 'migrations_missing' });
      expect(m).to.contain('To: oncall@hospital.test');
    } finally {
      await execOut('db', [
        'psql',
        '-U',
        'carebox',
        '-d',
        'carebox',
        '-qAtc',
        `insert into knex_migrations (id, name, batch, migration_time) values (${Number(id)}, '${name}', ${Number(batch)}, '${at}') on conflict do nothing`,
      ]);
    }
  });

  it('a drill of a backup whose backup.json checksum does not match its dump fails with data_mismatch; of a dump cut short on disk, with restore_failed, which the alert names', async () => {
    expect(keptStamp, 'the backup kept by the previous test').to.not.equal('');
    const dir = join(root, 'backups', keptStamp);
    const stack = await openStack(root);
    // backup.json records a checksum the dump's contents do not have (the dump itself is intact).
    const bm = JSON.parse(readFileSync(join(dir, BACKUP_MANIFEST), 'utf8'));
    expect(bm.checksums['public.patients']).to.match(/^-?\d+$/);
    bm.checksums['public.patients'] = String(BigInt(bm.checksums['public.patients']) + 1n);
    await writeFile(join(dir, BACKUP_MANIFEST), JSON.stringify(bm, null, 2));
    const mismatch = await runRestoreDrill(stack, dir);
    expect(mismatch).to.include({ ok: false, reason: 'data_mismatch' });
    expect(mismatch.why).to.contain('public.patients: checksum differs');
    expect(JSON.parse(readFileSync(join(root, 'carebox.json'), 'utf8')).backups.status.drill).to.include({ ok: false, reason: 'data_mismatch' });
    expect(readFileSync(join(metricsDir, 'carebox_backup.prom'), 'utf8')).to.match(/^carebox_restore_drill_last_attempt_success\{reason="data_mismatch"\} 0$/m);
    // The dump cut to half its size, as after a write that never finished.
    const dump = join(dir, DUMP_FILE);
    sh(['truncate', '-s', String(Math.floor(Number(sh(['stat', '-c', '%s', dump]).trim()) / 2)), dump]);
    const before = received();
    const cut = await runRestoreDrill(stack, dir);
    expect(cut).to.include({ ok: false, reason: 'restore_failed' });
    expect(cut.why).to.match(/^pg_restore failed/);
    expect(readFileSync(join(metricsDir, 'carebox_backup.prom'), 'utf8')).to.match(
      /^carebox_restore_drill_last_attempt_success\{reason="restore_failed"\} 0$/m,
    );
    await waitForAlert('RestoreDrillFailed', 180_000, { reason: 'restore_failed' }, before);
    const scratch = await docker.listContainers({ all: true, filters: { label: ['com.carebox.restore-drill'] } });
    expect(scratch.filter((c) => c.Labels['com.carebox.install-root'] === root)).to.have.length(0);
  });

  /** Run `cmd` in a container of the stack and return its stdout (execIn: demultiplexed, bounded). */
  async function execOut(name: string, cmd: string[], env: string[] = []): Promise<string> {
    const [c] = await containersOf(docker, project, name);
    if (!c) throw new Error(`no ${name} container`);
    return (await execIn(docker, c.Id, cmd, { env, timeoutMs: 60_000 })).stdout;
  }

  it('PostgreSQL connections above 80 % of max_connections minus the reserved slots raise PostgresConnectionsHigh', async () => {
    const m = JSON.parse(readFileSync(join(root, 'carebox.json'), 'utf8'));
    const pg = m.plan.sizing.postgres;
    const threshold = Math.floor(0.8 * (pg.maxConnections - pg.superuserReservedConnections));
    // Sessions that sleep 300 s (psql over the container's socket), enough to pass the threshold and
    // to outlast the wait for the alert on a busy machine; they are ended right after it.
    const now = Number(
      (
        await execOut('db', ['psql', '-U', 'carebox', '-d', 'carebox', '-Atc', 'select count(*) from pg_stat_activity where backend_type = $$client backend$$'])
      ).trim(),
    );
    const n = Math.max(1, threshold + 2 - now);
    await execOut('db', [
      'sh',
      '-c',
      `i=0; while [ $i -lt ${n} ]; do psql -U carebox -d carebox -qAtc 'select pg_sleep(300)' >/dev/null 2>&1 & i=$((i+1)); done; sleep 1`,
    ]);
    await waitForAlert('PostgresConnectionsHigh');
    await execOut('db', [
      'psql',
      '-U',
      'carebox',
      '-d',
      'carebox',
      '-qAtc',
      'select pg_terminate_backend(pid) from pg_stat_activity where query = $$select pg_sleep(300)$$',
    ]);
  });

  it('Redis clients above 80 % of maxclients raise RedisClientsHigh', async () => {
    const m = JSON.parse(readFileSync(join(root, 'carebox.json'), 'utf8'));
    const threshold = Math.floor(0.8 * m.plan.sizing.redis.maxClients);
    const password = readFileSync(join(root, 'secrets/redis-password'), 'utf8').trim();
    const info = await execOut('redis', ['redis-cli', 'info', 'clients'], [`REDISCLI_AUTH=${password}`]);
    const now = Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? 0);
    const n = Math.max(1, threshold + 2 - now);
    // A container of this test on the stack's network holds n idle TCP connections to Redis for 90 s.
    const id = sh([
      'docker',
      'run',
      '-d',
      '--name',
      `${project}-redis-clients`,
      '--network',
      `${project}_internal`,
      '--memory',
      '64m',
      '--entrypoint',
      'python3',
      SINK_TAG,
      '-c',
      `import socket,time\ns=[socket.create_connection(('redis',6379)) for _ in range(${n})]\ntime.sleep(90)`,
    ]).trim();
    sinks.push(id);
    try {
      await waitForAlert('RedisClientsHigh');
    } finally {
      sh(['docker', 'rm', '-f', id]);
    }
  });

  it('a re-run of install with another recipient takes effect: Alertmanager restarts with its new configuration', async () => {
    // --alerts stack: the e2e helper's CAREBOX_ALERTS=off would otherwise turn them off.
    const r = await carebox(['install', '--yes', '--json', '--dir', root, '--alerts', 'stack', '--alert-email', 'second@hospital.test'], {
      env: { CAREBOX_TEST_ALERT_FOR_SCALE: FOR_SCALE },
    });
    expect(r.code, r.stderr.slice(-2000)).to.equal(0);
    expect(JSON.parse(readFileSync(join(root, 'carebox.json'), 'utf8')).alerts.email).to.deep.equal(['second@hospital.test']);
    const t = await carebox(['alerts', 'test', '--json', '--dir', root, '--timeout', '120']);
    expect(t.code, t.stderr).to.equal(0);
    const deadline = Date.now() + 60_000;
    let found = false;
    for (let i = 0; i < 60 && !found && Date.now() < deadline; i++) {
      found = mails().some((m) => m.includes('To: second@hospital.test') && m.includes('CareboxTest'));
      if (!found) await new Promise((res) => setTimeout(res, 1000));
    }
    expect(found, 'a test mail to the new recipient').to.equal(true);
  });

  it('Redis on a full disk refuses writes (MISCONF): RedisRefusesWrites fires and the API answers 503 STORE_REFUSES_WRITES', async () => {
    const password = readFileSync(join(root, 'secrets/redis-password'), 'utf8').trim();
    // 1 MB values until the 8 MiB volume is full and the append-only file cannot be written (bounded).
    const out = await execOut(
      'redis',
      [
        'sh',
        '-c',
        'i=0; while [ $i -lt 40 ]; do head -c 1000000 /dev/urandom | redis-cli -x set fill:$i 2>&1 | grep -q MISCONF && break; i=$((i+1)); done; redis-cli info persistence | grep aof_last_write_status',
      ],
      [`REDISCLI_AUTH=${password}`],
    );
    expect(out).to.contain('aof_last_write_status:err');
    await waitForAlert('RedisRefusesWrites');
    // A write the API needs Redis for (a sign-in counts attempts there) is refused with the 503 the
    // server maps MISCONF to.
    const r = await apiCall(`http://127.0.0.1:${port}`, 'POST', '/auth/login', null, { username: 'nobody', password: 'wrong-password-1' });
    // The sign-in throttle's write is refused: 503 (STORE_REFUSES_WRITES, or the session store's
    // own SESSION_STORE_UNAVAILABLE when the refusal comes from the session write).
    expect(r.status).to.equal(503);
    expect(r.body.error.code).to.match(/STORE/);
  });
});
