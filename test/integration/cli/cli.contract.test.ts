/**
 * The CLI contract through the built binary: exit codes, --json documents, no UI without a TTY,
 * and `plan --json` holding the DB budget on a grid of hypothetical hosts for every offered tier.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PREFLIGHT_CHECKS } from '../../../installer/preflight/preflight.checks.js';
import { carebox, CLI } from '../../e2e/e2e.helpers.js';

describe('CLI contract (built binary)', function () {
  this.timeout(120_000);
  let scratch: string;
  before(async () => {
    if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first');
    scratch = await mkdtemp(join(tmpdir(), 'carebox-cli-'));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('plan --json prints every field the contract names', async () => {
    const r = await carebox(['plan', '--json', '--cpus', '4', '--memory', '8g', '--dir', scratch]);
    expect(r.code, r.stderr).to.equal(0);
    const p = r.json;
    for (const path of [
      'tier',
      'reasons',
      'host.cpus',
      'host.memoryBytes',
      'host.hostCpus',
      'host.hostMemoryBytes',
      'sizing.backend.replicas',
      'sizing.backend.workers',
      'sizing.backend.pool.min',
      'sizing.backend.pool.max',
      'sizing.queue.replicas',
      'sizing.queue.concurrency',
      'sizing.postgres.maxConnections',
      'sizing.postgres.sharedBuffersBytes',
      'sizing.redis.maxClients',
      'sizing.nginx.workerProcesses',
      'sizing.nginx.workerConnections',
      'budget.dbConnections.demand',
      'budget.dbConnections.limit',
      'budget.memoryBytes.demand',
      'budget.memoryBytes.limit',
      'capacity.concurrentUsers',
    ]) {
      const v = path.split('.').reduce((o: any, k) => (o === undefined ? undefined : o[k]), p);
      expect(v, path).to.not.equal(undefined);
    }
    expect(p).to.have.property('sizing').that.has.property('pgbouncer');
    expect(p.reasons).to.be.an('array').that.is.not.empty;
    expect(p.capacity.concurrentUsers).to.have.length(2);
  });

  it('plan --json holds dbConnections demand ≤ limit for every offered tier on a grid of hosts', async () => {
    for (const cpus of [1, 2, 8, 32]) {
      for (const mem of ['2g', '8g', '64g']) {
        const auto = await carebox(['plan', '--json', '--cpus', String(cpus), '--memory', mem, '--dir', scratch]);
        expect(auto.code, auto.stderr).to.equal(0);
        for (const t of auto.json.tiers.filter((x: any) => x.feasible)) {
          const r = await carebox(['plan', '--json', '--tier', t.tier, '--cpus', String(cpus), '--memory', mem, '--dir', scratch]);
          expect(r.code, r.stderr).to.equal(0);
          const b = r.json.budget;
          expect(b.dbConnections.demand, `${t.tier} ${cpus}/${mem}`).to.be.at.most(b.dbConnections.limit);
          expect(b.redisConnections.demand).to.be.at.most(b.redisConnections.limit);
          expect(b.memoryBytes.demand).to.be.at.most(b.memoryBytes.limit);
          expect(r.json.sizing.nginx.workerProcesses).to.be.at.most(cpus);
        }
      }
    }
  });

  it('plan for a host below the minimum exits 3 with a JSON error', async () => {
    const r = await carebox(['plan', '--json', '--cpus', '1', '--memory', '512m', '--dir', scratch]);
    expect(r.code).to.equal(3);
    expect(r.json.ok).to.equal(false);
    expect(r.json.error.code).to.equal('PREFLIGHT_FAILED');
    expect(r.json.error.hint).to.match(/1 GiB/);
  });

  for (const [args, why] of [
    [['plan', '--cpus', '4'], /--cpus and --memory go together/],
    [['plan', '--cpus', '4', '--memory', '8 bananas'], /invalid size/],
    [['plan', '--users', '0'], /--users/],
    [['plan', '--users', '50', '--size', 'small'], /either --users or --size/],
    [['install', '--http-port', '70000', '--yes'], /--http-port must be between 1 and 65535/],
    [['install', '--bind', 'localhost', '--yes'], /--bind must be an IPv4 address/],
    [['plan', '--no-such-flag'], /unknown option/],
    [['plan', '--pgbouncer', 'maybe'], /invalid --pgbouncer[\s\S]*allowed: auto, on, off/],
    [['plan', '--tier', 'default', '--nodes', '3'], /--nodes applies only to --tier cluster/],
    [['maintenance', 'sideways'], /unknown maintenance action/],
    [['maintenance', 'on', '--message', 'costs $5'], /--message: .*\$/],
    [['maintenance', 'on', '--message', 'say "hi"'], /--message: .*quotes/],
    [['maintenance', 'off', '--full'], /go with `maintenance on`/],
    [['maintenance', 'on', '--retry-after', '0'], /--retry-after/],
    // Sizes need a unit: a bare 8 is not read as 8 bytes (issue 17).
    [['plan', '--cpus', '4', '--memory', '8'], /--memory needs a unit, got '8'[\s\S]*did you mean 8GiB/],
    // Every flag error names the flag, the value and what is accepted; no validator wording.
    [['plan', '--users', 'abc'], /invalid --users 'abc': expected a whole number from 1 to 1000000/],
    [['plan', '--tier', 'gigantic'], /invalid --tier 'gigantic': expected one of default, optimized, horizontal, cluster/],
    [['plan', '--cpus', 'four', '--memory', '8g'], /--cpus must be a number between 0\.1 and 4096, got 'four'/],
    [['demo-data', '--remove'], /--remove needs --tenant NAME \(one data set\) or --all/],
    [['demo-data', '--patients', '5', '--clinicians', '0'], /--clinicians must be between 1 and 200, got 0/],
    [['demo-data', '--patients', '5', '--all'], /--all goes with --remove/],
    [['backup', '--keep', 'lots'], /--keep must be a whole number between 1 and 1000, got 'lots'/],
  ] as const) {
    it(`usage error exits 2: ${args.join(' ')}`, async () => {
      const r = await carebox([...args, '--dir', scratch]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.match(why);
      // With --json, the same error as one JSON document on stdout (commander's parse errors too).
      const j = await carebox([...args, '--json', '--dir', scratch]);
      expect(j.code).to.equal(2);
      expect(j.json?.error?.code, j.stdout).to.equal('USAGE');
      expect(`${j.json.error.message}\n${j.json.error.hint ?? ''}`).to.match(why);
      expect(`${r.stderr}`).to.not.match(/Invalid input|received NaN/);
    });
  }

  it('bare `carebox` prints the help on stderr and exits 2 (a usage error, as the README table says); --help and help exit 0', async () => {
    const bare = await carebox([]);
    expect(bare.code).to.equal(2);
    expect(bare.stderr).to.match(/Usage: carebox/);
    expect(bare.stdout).to.equal('');
    const json = await carebox(['--dir', scratch, '--json']);
    expect(json.code).to.equal(2);
    expect(json.json.error.code).to.equal('USAGE');
    for (const args of [['--help'], ['help'], ['plan', '--help'], ['--version']]) {
      const r = await carebox(args);
      expect(r.code, args.join(' ')).to.equal(0);
      expect(r.stdout).to.not.equal('');
    }
  });

  it('plan --help and demo-data --help state the units and ranges they accept', async () => {
    expect((await carebox(['plan', '--help'])).stdout).to.match(
      /--memory <SIZE>\s+plan for a hypothetical host with this much memory; a\s+unit\s+is\s+required:\s+8GiB/,
    );
    const demo = (await carebox(['demo-data', '--help'])).stdout;
    expect(demo).to.match(/--clinicians <N>\s+synthetic clinicians, 1–200/);
    expect(demo).to.match(/--all\s+with --remove: every synthetic data set/);
  });

  it('logs: --help says JSON Lines; with --json even an error is one line a JSONL reader parses', async () => {
    const help = await carebox(['logs', '--help']);
    expect(help.stdout).to.match(/--json\s+print JSON Lines/);
    expect(help.stdout).to.not.match(/one JSON document/);
    const root = join(scratch, 'logs-root');
    expect((await carebox(['install', '--yes', '--render-only', '--json', '--dir', root, '--http-port', '18095'])).code).to.equal(0);
    for (const args of [
      ['logs', 'nosuch', '--json', '--dir', root],
      ['logs', '--json', '--dir', root],
      ['logs', 'backend', '--tail', 'x', '--json', '--dir', root],
    ]) {
      const r = await carebox(args);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).to.equal(2);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines, r.stdout).to.have.length(1);
      expect(JSON.parse(lines[0]!).error.code).to.equal('USAGE');
    }
  });

  it('plan --json with a shortfall exits 0 and names it in `shortfall` (the field scripts check, per the README exit-code table)', async () => {
    const r = await carebox(['plan', '--json', '--users', '1000000', '--cpus', '2', '--memory', '4GiB', '--dir', scratch]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.shortfall).to.include({ users: 1000000, needs: 'cluster' });
    const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
    expect(readme).to.match(/\| 0 \| ok[^\n]*`plan`[^\n]*`shortfall`/);
  });

  it('plan with no flags on an installed root says the tier was recorded at install, not asked for', async () => {
    const root = join(scratch, 'recorded');
    expect((await carebox(['install', '--yes', '--render-only', '--json', '--tier', 'default', '--dir', root, '--http-port', '18096'])).code).to.equal(0);
    const r = await carebox(['plan', '--dir', root]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/tier default was recorded at install/);
    expect(r.stdout).to.not.match(/was asked for/);
    const asked = await carebox(['plan', '--tier', 'default', '--dir', root]);
    expect(asked.stdout).to.match(/tier default was asked for/);
  });

  it('a refused scale --json gives the same structured `budget` as the success document, and each violation with its unit', async () => {
    const root = join(scratch, 'scale-refused');
    expect((await carebox(['install', '--yes', '--render-only', '--json', '--tier', 'default', '--dir', root, '--http-port', '18097'])).code).to.equal(0);
    const before = readFileSync(join(root, 'carebox.json'), 'utf8');
    const r = await carebox(['scale', 'backend=32', '--json', '--dir', root]);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.json.ok).to.equal(false);
    expect(r.json.error.code).to.equal('PREFLIGHT_FAILED');
    expect(r.json).to.include({ service: 'backend', from: 1, to: 32 });
    for (const k of ['dbConnections', 'memoryBytes', 'redisConnections']) {
      expect(r.json.budget[k].demand, k).to.be.a('number');
      expect(r.json.budget[k].limit, k).to.be.a('number');
    }
    expect(r.json.violations).to.be.an('array').that.is.not.empty;
    for (const v of r.json.violations) {
      expect(v.demand).to.be.greaterThan(v.limit);
      expect(['bytes', 'connections', 'processes', 'cpus']).to.include(v.unit);
      expect(v.budget).to.be.a('string').and.not.match(/\s/);
    }
    expect(readFileSync(join(root, 'carebox.json'), 'utf8')).to.equal(before);
  });

  it('support-bundle --json counts what it redacted: `redactions` is the sum of `redactionsBy`, and the .env values are in it', async () => {
    const root = join(scratch, 'support-root');
    expect((await carebox(['install', '--yes', '--render-only', '--json', '--dir', root, '--http-port', '18098'])).code).to.equal(0);
    const envValues = readFileSync(join(root, '.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l) && !l.startsWith('COMPOSE_PROJECT_NAME=')).length;
    const r = await carebox(['support-bundle', '--json', '--output', join(scratch, 'support.tar.gz'), '--dir', root]);
    expect(r.code, r.stderr).to.equal(0);
    expect(envValues).to.be.at.least(2);
    expect(r.json.redactionsBy.envValues).to.equal(envValues);
    const by = r.json.redactionsBy;
    expect(r.json.redactions).to.equal(by.envValues + by.logLines + by.recordIds + by.secretValues);
    expect(r.json.redactions).to.be.at.least(envValues);
  });

  it('plan --pgbouncer on puts PgBouncer in front of the default tier; --pgbouncer off on the cluster tier exits 3', async () => {
    const on = await carebox(['plan', '--json', '--tier', 'default', '--pgbouncer', 'on', '--cpus', '2', '--memory', '4g', '--dir', scratch]);
    expect(on.code, on.stderr).to.equal(0);
    expect(on.json.intent.pgbouncer).to.equal('on');
    expect(on.json.sizing.pgbouncer.poolMode).to.equal('transaction');
    expect(on.json.budget.dbConnections.demand).to.be.at.most(on.json.budget.dbConnections.limit);
    expect(on.json.budget.pgbouncerClients.demand).to.be.at.most(on.json.budget.pgbouncerClients.limit);
    const text = await carebox(['plan', '--tier', 'default', '--pgbouncer', 'on', '--cpus', '2', '--memory', '4g', '--dir', scratch]);
    expect(text.stdout).to.match(/pgbouncer {2}transaction pooling/);
    expect(text.stdout).to.match(/--pgbouncer on was asked for/);
    const off = await carebox(['plan', '--json', '--tier', 'cluster', '--pgbouncer', 'off', '--cpus', '8', '--memory', '32g', '--dir', scratch]);
    expect(off.code, off.stderr).to.equal(3);
    expect(off.json.error.code).to.equal('PREFLIGHT_FAILED');
    expect(off.json.error.message).to.match(/--pgbouncer off/);
    expect(off.json.error.hint).to.match(/drop --pgbouncer off/);
  });

  it('plan --tier cluster --users N derives the node count (at least 2) and explains it', async () => {
    const r = await carebox(['plan', '--json', '--tier', 'cluster', '--users', '5000', '--cpus', '8', '--memory', '32g', '--dir', scratch]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.nodes).to.be.at.least(2);
    expect(r.json.capacity.concurrentUsers[0]).to.be.at.least(5000);
    expect(r.json.derivations.nodes).to.match(/serves 5000\b/);
    expect(r.json.shortfall).to.equal(null);
  });

  it('install --json with a failed preflight exits 3 and lists every preflight result in the error document', async () => {
    const root = join(scratch, 'too-many-users');
    const r = await carebox(['install', '--yes', '--render-only', '--json', '--users', '1000000', '--dir', root]);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.json.ok).to.equal(false);
    expect(r.json.error.code).to.equal('PREFLIGHT_FAILED');
    expect(r.json.preflight.map((c: any) => c.id)).to.deep.equal(PREFLIGHT_CHECKS.map((c) => c.id));
    for (const c of r.json.preflight) {
      expect(c.status, c.id).to.be.oneOf(['pass', 'warn', 'fail']);
      expect(c.found, c.id).to.be.a('string').that.is.not.empty;
      expect(c.needs, c.id).to.be.a('string').that.is.not.empty;
      expect(c.fix === null, c.id).to.equal(c.status === 'pass');
    }
    const tier = r.json.preflight.find((c: any) => c.id === 'tier-resources');
    expect(tier.status).to.equal('fail');
    expect(tier.needs).to.match(/1000000 (need|are)/);
    expect(r.json.intent.users).to.equal(1000000);
    expect(existsSync(root)).to.equal(false);
  });

  it('install --json refuses --tier cluster --pgbouncer off with exit 3, the check saying how to fix it', async () => {
    const root = join(scratch, 'cluster-off');
    const r = await carebox(['install', '--yes', '--render-only', '--json', '--tier', 'cluster', '--pgbouncer', 'off', '--dir', root]);
    expect(r.code, r.stderr).to.equal(3);
    const tier = r.json.preflight.find((c: any) => c.id === 'tier-resources');
    expect(tier.status).to.equal('fail');
    expect(tier.needs).to.match(/--pgbouncer off/);
    expect(tier.fix).to.match(/drop --pgbouncer off/);
    expect(existsSync(root)).to.equal(false);
  });

  it('install --render-only --pgbouncer on records the mode in carebox.json and renders PgBouncer; a bare re-run keeps it', async () => {
    const root = join(scratch, 'pgbouncer-on');
    const first = await carebox([
      'install',
      '--yes',
      '--render-only',
      '--json',
      '--tier',
      'default',
      '--pgbouncer',
      'on',
      '--dir',
      root,
      '--http-port',
      '18091',
    ]);
    expect(first.code, first.stderr).to.equal(0);
    const manifest = JSON.parse(readFileSync(join(root, 'carebox.json'), 'utf8'));
    expect(manifest.intent.pgbouncer).to.equal('on');
    expect(manifest.plan.sizing.pgbouncer).to.not.equal(null);
    expect(existsSync(join(root, 'pgbouncer/pgbouncer.ini'))).to.equal(true);
    expect(readFileSync(join(root, 'compose.yml'), 'utf8')).to.match(/DATABASE_HOST: pgbouncer/);
    const again = await carebox(['install', '--yes', '--render-only', '--json', '--dir', root]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.json.files.every((f: any) => f.status === 'unchanged')).to.equal(true);
    expect(again.json.manifestWritten).to.equal(false);
  });

  it('install --backup-at off plans manual backups (no scheduler, no budget line, schedule disabled); `backup schedule --at` then exits 2 saying how to schedule them', async () => {
    const root = join(scratch, 'backups-manual');
    const r = await carebox(['install', '--yes', '--render-only', '--json', '--tier', 'default', '--backup-at', 'off', '--dir', root, '--http-port', '18092']);
    expect(r.code, r.stderr).to.equal(0);
    const manifest = JSON.parse(readFileSync(join(root, 'carebox.json'), 'utf8'));
    expect(manifest.intent.backups).to.equal('manual');
    expect(manifest.plan.sizing.scheduler ?? null).to.equal(null);
    expect(manifest.plan.budget.memoryBytes.items.map((i: any) => i.name)).to.not.include('scheduler');
    expect(manifest.backups.schedule.enabled).to.equal(false);
    expect(readFileSync(join(root, 'compose.yml'), 'utf8')).to.not.match(/^ {2}scheduler:/m);
    const s = await carebox(['backup', 'schedule', '--dir', root, '--at', '03:00']);
    expect(s.code, s.stderr).to.equal(2);
    expect(s.stderr)
      .to.match(/runs backups manually/)
      .and.match(/install --backup-at HH:MM/);
    const bad = await carebox(['install', '--yes', '--render-only', '--backup-at', '7:99', '--dir', join(scratch, 'backups-bad')]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--backup-at 7:99/);
  });

  it('install --render-only without --backup-at schedules backups by default, with the scheduler and its drill in the memory budget', async () => {
    const root = join(scratch, 'backups-default');
    const r = await carebox(['install', '--yes', '--render-only', '--json', '--tier', 'default', '--dir', root, '--http-port', '18093'], {
      env: { CAREBOX_BACKUP_AT: '' },
    });
    expect(r.code, r.stderr).to.equal(0);
    const manifest = JSON.parse(readFileSync(join(root, 'carebox.json'), 'utf8'));
    expect(manifest.intent.backups).to.equal('scheduled');
    expect(manifest.backups.schedule).to.include({ cron: '30 2 * * *', enabled: true });
    expect(manifest.plan.budget.memoryBytes.items.map((i: any) => i.name)).to.include.members(['scheduler', 'restore drill']);
  });

  it('install without a TTY and without --yes never mounts the UI: it says why and exits 2', async () => {
    const r = await carebox(['install', '--dir', join(scratch, 'root')]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/no TTY/);
    expect(r.stderr).to.match(/--yes/);
    expect(r.stderr).to.not.match(/Raw mode/);
    expect(existsSync(join(scratch, 'root'))).to.equal(false);
  });

  it('install --images with a bad file is a usage error naming the problem', async () => {
    const { writeFile } = await import('node:fs/promises');
    const f = join(scratch, 'images.json');
    await writeFile(f, JSON.stringify({ postgres: 'postgres:latest', mysql: 'mysql:8' }));
    const r = await carebox(['install', '--yes', '--render-only', '--json', '--dir', join(scratch, 'r2'), '--images', f]);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.json.error.message).to.match(/latest|mysql/);
  });

  it('status on a root with no install exits 1 and says so', async () => {
    const r = await carebox(['status', '--json', '--dir', join(scratch, 'nothing-here')]);
    expect(r.code).to.equal(1);
    expect(r.json.error.message).to.match(/no Carebox install/);
  });

  it('uninstall --purge refuses a directory that is no Carebox install (exit 1) and deletes nothing', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const victim = join(scratch, 'not-an-install');
    await mkdir(join(victim, 'sub'), { recursive: true });
    await writeFile(join(victim, 'sub', 'notes.txt'), 'keep me');
    const r = await carebox(['uninstall', '--json', '--purge', '--yes', '--dir', victim]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.json.error.message).to.match(/no Carebox install/);
    expect(readFileSync(join(victim, 'sub', 'notes.txt'), 'utf8')).to.equal('keep me');
    const missing = await carebox(['uninstall', '--json', '--yes', '--dir', join(scratch, 'never-existed')]);
    expect(missing.code, missing.stderr).to.equal(1);
  });

  it('uninstall of a render-only root needs --yes without a TTY (exit 2); --purge --yes then removes the root', async () => {
    const root = join(scratch, 'render-then-purge');
    expect((await carebox(['install', '--yes', '--render-only', '--json', '--dir', root, '--http-port', '18092'])).code).to.equal(0);
    const unconfirmed = await carebox(['uninstall', '--json', '--dir', root]);
    expect(unconfirmed.code).to.equal(2);
    expect(unconfirmed.json.error.message).to.match(/no TTY/);
    const purge = await carebox(['uninstall', '--json', '--purge', '--yes', '--dir', root]);
    expect(purge.code, purge.stderr).to.equal(0);
    expect(purge.json.rootRemoved).to.equal(true);
    expect(existsSync(root)).to.equal(false);
  });

  it('install on an existing root waits for no one: another live operation holding the lock makes it exit 1 and change nothing', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { hostname } = await import('node:os');
    const root = join(scratch, 'locked');
    expect((await carebox(['install', '--yes', '--render-only', '--json', '--dir', root, '--http-port', '18093'])).code).to.equal(0);
    const before = readFileSync(join(root, 'compose.yml'), 'utf8');
    await writeFile(join(root, '.carebox.lock'), JSON.stringify({ pid: process.pid, host: hostname(), op: 'restart', startedAt: new Date().toISOString() }));
    const r = await carebox(['install', '--yes', '--render-only', '--json', '--dir', root, '--http-port', '18094']);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.json.error.message).to.match(/another Carebox operation is changing this stack: restart/);
    expect(readFileSync(join(root, 'compose.yml'), 'utf8')).to.equal(before);
    await rm(join(root, '.carebox.lock'));
  });

  it('--render-only writes the files and manifest without Docker, and a re-run writes nothing', async () => {
    const root = join(scratch, 'render-only');
    const first = await carebox(['install', '--yes', '--render-only', '--json', '--dir', root, '--http-port', '18089']);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.json.files.map((f: any) => f.status)).to.satisfy((s: string[]) => s.every((x) => x === 'created'));
    expect(existsSync(join(root, 'carebox.json'))).to.equal(true);
    const again = await carebox(['install', '--yes', '--render-only', '--json', '--dir', root]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.json.files.every((f: any) => f.status === 'unchanged')).to.equal(true);
    expect(again.json.manifestWritten).to.equal(false);
  });

  it('history: every verb that changes the stack is appended to operations.log (who, when, what, result), secrets and free text redacted; reads are not', async () => {
    const root = join(scratch, 'history');
    expect((await carebox(['install', '--yes', '--render-only', '--json', '--dir', root, '--http-port', '18095'])).code).to.equal(0);
    const bad = await carebox(['scale', 'backend=abc', '--dir', root, '--json']);
    expect(bad.code).to.equal(2);
    expect((await carebox(['plan', '--dir', root, '--json'])).code).to.equal(0);
    expect((await carebox(['maintenance', 'status', '--dir', root, '--json'])).code).to.equal(0);
    const off = await carebox(['maintenance', 'on', '--message', 'secret-looking text', '--dir', root, '--json']);
    const h = await carebox(['history', '--dir', root, '--json']);
    expect(h.code, h.stderr).to.equal(0);
    const entries = h.json.entries as any[];
    expect(entries.map((e) => e.verb)).to.deep.equal(['install', 'scale', 'maintenance']);
    expect(entries[0]).to.include({ exitCode: 0, error: null });
    expect(entries[0].options).to.include({ yes: true, renderOnly: true, httpPort: '18095' });
    expect(entries[0].options).to.not.have.property('dir');
    expect(entries[1]).to.include({ exitCode: 2 });
    expect(entries[1].args).to.deep.equal(['backend=abc']);
    expect(entries[1].error).to.match(/abc/);
    expect(entries[2].exitCode).to.equal(off.code);
    expect(entries[2].options.message).to.equal('[redacted]');
    for (const e of entries) {
      expect(e.user).to.be.a('string').and.not.equal('');
      expect(Date.parse(e.at)).to.be.above(Date.now() - 600_000);
    }
    expect(readFileSync(join(root, 'operations.log'), 'utf8')).to.not.include('secret-looking');
    const { statSync } = await import('node:fs');
    expect(statSync(join(root, 'operations.log')).mode & 0o777).to.equal(0o600);
    const text = await carebox(['history', '--dir', root, '--limit', '1']);
    expect(text.code).to.equal(0);
    expect(text.stdout.trim().split('\n')).to.have.length(1);
    expect(text.stdout).to.match(/carebox maintenance on --message \[redacted\]/);
    expect((await carebox(['history', '--dir', root, '--limit', '0'])).code).to.equal(2);
    expect((await carebox(['history', '--dir', join(scratch, 'nothing-here')])).code).to.equal(1);
  });
});
