import { expect } from 'chai';
import { parse } from 'yaml';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import type { Plan, Tier } from '../../../installer/plan/plan.types.js';
import { renderFor } from '../render/render.helpers.js';

const GiB = 1024 ** 3;
const SINGLE_HOST: Tier[] = ['default', 'optimized', 'horizontal'];

/**
 * A re-tier must not restart PostgreSQL (every DB-backed request would fail meanwhile) nor
 * recreate Redis or nginx: their sizing, container limits and rendered postgresql.conf depend on
 * the host only, never on the tier.
 */
describe('planner: a re-tier leaves PostgreSQL, Redis and nginx containers alone', () => {
  for (const [cpus, gib] of [
    [1, 1],
    [2, 4],
    [2, 24],
    [4, 8],
    [8, 32],
    [16, 64],
    [64, 256],
  ] as const) {
    it(`${cpus} CPUs / ${gib} GiB`, () => {
      const host = hypotheticalHost(cpus, gib * GiB);
      const plans = SINGLE_HOST.flatMap((tier): Plan[] => {
        try {
          return [planCarebox(host, { tier, users: null, usersSource: null, nodes: null })];
        } catch {
          return [];
        }
      });
      expect(plans.length, 'feasible tiers').to.be.at.least(1);
      const [first, ...rest] = plans;
      for (const p of rest) {
        expect(p.sizing.postgres, `${first!.tier} vs ${p.tier}`).to.deep.equal(first!.sizing.postgres);
        expect(p.sizing.redis.limits).to.deep.equal(first!.sizing.redis.limits);
        expect(p.sizing.redis.maxMemoryBytes).to.equal(first!.sizing.redis.maxMemoryBytes);
        expect(p.sizing.nginx.limits).to.deep.equal(first!.sizing.nginx.limits);
        const file = (x: Plan, path: string) => renderFor(x).find((f) => f.path === path)!.content;
        expect(file(p, 'postgres/postgresql.conf')).to.equal(file(first!, 'postgres/postgresql.conf'));
        // The db, redis and nginx services of compose.yml are identical, so Compose recreates none of them.
        const services = (x: Plan) => (parse(file(x, 'compose.yml')) as { services: Record<string, unknown> }).services;
        for (const svc of ['db', 'redis', 'nginx']) expect(services(p)[svc], svc).to.deep.equal(services(first!)[svc]);
      }
    });
  }
});
