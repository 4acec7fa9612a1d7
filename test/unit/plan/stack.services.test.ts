import { expect } from 'chai';
import { expectedReplicas } from '../../../installer/plan/stack.services.js';
import { planFor } from '../render/render.helpers.js';

describe('stack services: what a stack runs, in start order', () => {
  it('lists the data services first, then the app, the edge, monitoring and the scheduler', () => {
    const plan = planFor('horizontal');
    const r = expectedReplicas(plan, { scheduler: 'carebox/cli:1' });
    const keys = Object.keys(r);
    expect(keys.slice(0, 2)).to.deep.equal(['db', 'redis']);
    expect(keys.indexOf('backend')).to.be.below(keys.indexOf('nginx'));
    expect(r.backend).to.equal(plan.sizing.backend.replicas);
    expect(r.worker).to.equal(plan.sizing.queue.replicas);
    expect(keys.at(-1)).to.equal('scheduler');
    expect(Object.keys(expectedReplicas(plan))).to.not.include('scheduler');
    if (plan.sizing.pgbouncer) expect(keys.indexOf('pgbouncer')).to.equal(2);
    else expect(keys).to.not.include('pgbouncer');
    if (plan.sizing.monitoring) expect(keys).to.include.members(['prometheus', 'alertmanager']);
  });
});
