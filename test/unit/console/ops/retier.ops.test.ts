import { expect } from 'chai';
import {
  directConnections,
  fixedConnections,
  parsePgConf,
  pgbouncerPool,
  postmasterChanges,
  serviceActions,
  type FileDiff,
} from '../../../../console/ops/retier.ops.js';
import { hypotheticalHost } from '../../../../installer/plan/hypothetical.host.js';
import { planCarebox } from '../../../../installer/plan/tier.plan.js';

const GiB = 1024 ** 3;
const host = hypotheticalHost(2, 24 * GiB);
const plan = (tier: 'default' | 'horizontal') => planCarebox(host, { tier, users: null, usersSource: null, nodes: null });
const h = (c: string) => c.repeat(64);
const ctr = (service: string, configHash: string) => ({ service, configHash, state: 'running', oneoff: false });
const diffs = (changed: string[]): FileDiff[] =>
  ['compose.yml', '.env', 'nginx/nginx.conf', 'postgres/postgresql.conf', 'redis/redis.conf'].map((path) => ({
    path,
    status: changed.includes(path) ? 'updated' : 'unchanged',
    diff: '',
  }));

describe('retier: what each service needs', () => {
  it('reads postmaster settings out of postgresql.conf', () => {
    const a = 'max_connections = 100\nshared_buffers = 4873MB   # comment\nwork_mem = 48128kB\n';
    const b = 'max_connections = 100\nshared_buffers = 4861MB\nwork_mem = 40000kB\n';
    expect(parsePgConf(a)).to.deep.include({ max_connections: '100', shared_buffers: '4873MB', work_mem: '48128kB' });
    expect(postmasterChanges(a, b)).to.deep.equal(['shared_buffers']); // work_mem reloads live
    expect(postmasterChanges(a, a)).to.deep.equal([]);
  });

  it('rolls backend/worker whose config hash changes, reloads nginx, sets Redis live, orders the DB restart', () => {
    const old = plan('default');
    const next = plan('horizontal');
    const newHashes = { db: h('d'), redis: h('r'), backend: h('B'), worker: h('W'), nginx: h('n') };
    const containers = [ctr('db', h('d')), ctr('redis', h('r')), ctr('backend', h('b')), ctr('worker', h('w')), ctr('nginx', h('n'))];
    const cur = new Map<string, string | null>([['postgres/postgresql.conf', 'max_connections = 100\nshared_buffers = 4873MB\n']]);
    const files = [{ path: 'postgres/postgresql.conf', content: 'max_connections = 100\nshared_buffers = 4861MB\n', mode: 0o644, secret: false }];
    const a = serviceActions(
      old,
      next,
      newHashes,
      containers,
      diffs(['compose.yml', 'nginx/nginx.conf', 'postgres/postgresql.conf', 'redis/redis.conf']),
      cur,
      files,
    );
    const by = Object.fromEntries(a.map((x) => [x.service, x]));
    expect(a.map((x) => x.service)).to.deep.equal(['db', 'redis', 'backend', 'worker', 'nginx']);
    expect(by.backend!.action).to.equal('roll');
    expect(by.worker!.action).to.equal('roll');
    expect(by.redis!.action).to.equal('config-set');
    expect(by.nginx!.action).to.equal('reload');
    expect(by.db!.action).to.equal('restart');
    expect(by.db!.detail).to.match(/shared_buffers.*before the app roll/);
  });

  it('backends roll while nginx.conf is unchanged: no nginx reload (it finds them through DNS)', () => {
    const [from, to] = [plan('default'), plan('horizontal')];
    const newHashes = { db: h('d'), redis: h('r'), backend: h('B'), worker: h('w'), nginx: h('n') };
    const containers = [ctr('db', h('d')), ctr('redis', h('r')), ctr('backend', h('b')), ctr('worker', h('w')), ctr('nginx', h('n'))];
    const a = serviceActions(from, to, newHashes, containers, diffs(['compose.yml']), new Map(), []);
    const by = Object.fromEntries(a.map((x) => [x.service, x]));
    expect(by.backend!.action).to.equal('roll');
    expect(by.nginx!.action).to.equal('none');
    expect(by.nginx!.detail).to.match(/through DNS, no reload/);
  });

  it('nothing to do when hashes and files match', () => {
    const p = plan('default');
    const hashes = { db: h('d'), redis: h('r'), backend: h('b'), worker: h('w'), nginx: h('n') };
    const containers = Object.entries(hashes).map(([s, x]) => ctr(s, x));
    const a = serviceActions(p, p, hashes, containers, diffs([]), new Map(), []);
    expect(
      a.every((x) => x.action === 'none'),
      JSON.stringify(a),
    ).to.equal(true);
  });

  it('a service the new plan drops is removed; one it adds is started first', () => {
    const p = plan('default');
    const a = serviceActions(p, p, { pgbouncer: h('p'), db: h('d') }, [ctr('db', h('d')), ctr('oldsvc', h('o'))], diffs([]), new Map(), []);
    expect(a.find((x) => x.service === 'pgbouncer')!.action).to.equal('start');
    expect(a.find((x) => x.service === 'oldsvc')!.action).to.equal('remove');
  });

  it('counts the DB connections each container holds during the overlap', () => {
    const d = plan('default');
    expect(directConnections(d, 'backend')).to.equal(d.sizing.backend.workers * d.sizing.backend.pool.max);
    expect(directConnections(d, 'worker')).to.equal(d.sizing.queue.pool.max);
    expect(pgbouncerPool(d)).to.equal(0);
    const fixed = fixedConnections(d);
    expect(fixed + directConnections(d, 'backend') * d.sizing.backend.replicas + directConnections(d, 'worker') * d.sizing.queue.replicas).to.equal(
      d.budget.dbConnections.demand,
    );
  });
});
