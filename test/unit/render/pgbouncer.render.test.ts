/**
 * `--pgbouncer on` on a single-host tier renders the same PgBouncer service the cluster tier gets:
 * the app reaches PostgreSQL through it (transaction mode), PgBouncer has the planned limits, and
 * `off`/`auto` on the default tier render no PgBouncer at all.
 */
import { expect } from 'chai';
import { parse } from 'yaml';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { findComposeIssues } from '../../../installer/render/compose.lint.js';
import type { PgbouncerMode, Plan } from '../../../installer/plan/plan.types.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import { fileOf, GiB, renderFor } from './render.helpers.js';

type Svc = Record<string, any>;

function defaultTier(pgbouncer: PgbouncerMode, cpus = 2, gib = 4): Plan {
  return planCarebox(hypotheticalHost(cpus, gib * GiB), { tier: 'default', users: null, usersSource: null, nodes: null, pgbouncer });
}

describe('render: --pgbouncer on the default tier', () => {
  it('on: the backend and worker talk to PgBouncer, which fronts db in transaction mode with its planned limits', () => {
    const plan = defaultTier('on');
    const files = renderFor(plan);
    const doc = parse(fileOf(files, 'compose.yml')) as { services: Record<string, Svc> };
    const s = doc.services;
    expect(s.pgbouncer, 'pgbouncer service').to.not.equal(undefined);
    for (const app of ['backend', 'worker']) {
      expect(s[app]!.environment).to.include({ DATABASE_HOST: 'pgbouncer', DATABASE_PORT: '6432', DB_PGBOUNCER: 'true' });
      expect(s[app]!.depends_on).to.have.property('pgbouncer');
    }
    expect(s.pgbouncer!.cpus).to.equal(plan.sizing.pgbouncer!.limits.cpus);
    expect(s.pgbouncer!.mem_limit).to.equal(`${plan.sizing.pgbouncer!.limits.memoryBytes / 1024 ** 2}m`);
    expect(s.pgbouncer).to.not.have.property('ports');
    const ini = fileOf(files, 'pgbouncer/pgbouncer.ini');
    expect(ini).to.match(/^pool_mode = transaction$/m);
    expect(ini).to.match(/^carebox = host=db port=5432 dbname=carebox$/m);
    expect(ini).to.match(new RegExp(`^default_pool_size = ${plan.sizing.pgbouncer!.defaultPoolSize}$`, 'm'));
    expect(ini).to.match(new RegExp(`^reserve_pool_size = ${plan.sizing.pgbouncer!.reservePoolSize}$`, 'm'));
    expect(findComposeIssues(doc)).to.deep.equal([]);
  });

  it('on a 1 CPU / 1 GiB host too (the burst reserve shrinks, the server pool stays ≥ 5)', () => {
    const plan = defaultTier('on', 1, 1);
    expect(plan.sizing.pgbouncer!.defaultPoolSize).to.be.at.least(5);
    expect(renderFor(plan).map((f) => f.path)).to.include('pgbouncer/pgbouncer.ini');
  });

  for (const mode of ['auto', 'off'] as const) {
    it(`${mode}: no PgBouncer service or ini, and the app talks to db directly`, () => {
      const files = renderFor(defaultTier(mode));
      const s = (parse(fileOf(files, 'compose.yml')) as { services: Record<string, Svc> }).services;
      expect(s).to.not.have.property('pgbouncer');
      expect(s.backend!.environment).to.include({ DATABASE_HOST: 'db', DATABASE_PORT: '5432', DB_PGBOUNCER: 'false' });
      expect(files.map((f) => f.path)).to.not.include('pgbouncer/pgbouncer.ini');
    });
  }
});
