/**
 * Drift check: builds the server's own metrics registry (server/src/observability) and reads it
 * with the console's parser and name mapping. When the server renames a metric or a label, this
 * fails before the dashboard goes blank in the field.
 */
import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import { createMetrics } from '../../../../server/src/observability/metrics.registry.js';
import { SERVER_LABELS, SERVER_METRICS } from '../../../../console/metrics/metric.names.js';
import { snapshotFrom } from '../../../../console/metrics/metrics.snapshot.js';
import { parsePrometheusText } from '../../../../console/metrics/prom.parse.js';

describe('console metrics: names match the server registry', () => {
  let db: Knex;
  before(() => {
    // Never connects: the pool opens connections only on a query (min 0).
    db = knexFactory({ client: 'pg', connection: 'postgres://nobody@127.0.0.1:1/none', pool: { min: 0, max: 1 } });
  });
  after(async () => {
    await db.destroy();
  });

  it('every mapped metric is exposed by the server and reads back as recorded', async () => {
    const metrics = createMetrics({
      db,
      poolMax: 7,
      queueDepths: async () => [{ queue: 'system', waiting: 2, active: 1, delayed: 0, succeeded: 9, failed: 1 }],
    });
    const ok = { method: 'GET', route: '/api/v1/patients/:id', status_code: '200' };
    const bad = { method: 'POST', route: '/api/v1/patients', status_code: '503' };
    metrics.httpRequests.inc(ok, 3);
    metrics.httpRequests.inc(bad, 1);
    metrics.httpDuration.observe(ok, 0.02);
    metrics.httpDuration.observe(bad, 0.7);
    const expo = parsePrometheusText(await metrics.registry.metrics());

    for (const name of Object.values(SERVER_METRICS)) expect(expo.types[name], name).to.not.equal(undefined);
    expect(expo.types[SERVER_METRICS.requests]).to.equal('counter');
    expect(expo.types[SERVER_METRICS.duration]).to.equal('histogram');
    const sample = expo.samples.find((s) => s.name === SERVER_METRICS.requests)!;
    for (const l of [SERVER_LABELS.status, SERVER_LABELS.route]) expect(sample.labels, l).to.have.property(l);

    const s = snapshotFrom(expo);
    expect(s.requests).to.equal(4);
    expect(s.errors5xx).to.equal(1);
    expect(s.buckets.at(-1)).to.deep.equal({ le: Infinity, count: 2 });
    expect(s.pool).to.deep.equal({ used: 0, free: 0, pending: 0, max: 7 });
    expect(s.queues).to.deep.equal({ system: { waiting: 2, active: 1, delayed: 0, succeeded: 9, failed: 1 } });
  });
});
