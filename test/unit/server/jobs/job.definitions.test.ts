import { expect } from 'chai';
import { isJobType, JOB_DEFINITIONS, QUEUE_NAMES, redisConnectionsPerProcess, STALL_INTERVAL_MS } from '../../../../server/src/jobs/job.definitions.js';
import { createJobHandlers } from '../../../../server/src/jobs/job.handlers.js';

const unused = async (): Promise<never> => {
  throw new Error('not called in this test');
};
const jobHandlers = createJobHandlers({
  notifications: { scan: unused, deliverDue: unused },
  reports: { generate: unused },
  exports: { build: unused },
  maintenance: unused,
});

describe('server jobs: definitions', () => {
  it('puts every job type on a declared queue and gives it a handler', () => {
    for (const [type, definition] of Object.entries(JOB_DEFINITIONS)) {
      expect(QUEUE_NAMES as readonly string[], type).to.include(definition.queue);
      expect(jobHandlers, type).to.have.property(type).that.is.a('function');
    }
  });

  it('bounds every job: a timeout longer than the stall interval, finite retries with backoff', () => {
    for (const [type, d] of Object.entries(JOB_DEFINITIONS)) {
      expect(d.timeoutMs, type).to.be.greaterThan(STALL_INTERVAL_MS);
      expect(d.retry.retries, type).to.be.within(0, 10);
      expect(d.retry.backoff.delayMs, type).to.be.greaterThan(0);
    }
  });

  it('validates ping payloads and applies their defaults', () => {
    expect(JOB_DEFINITIONS.ping.payload.parse({})).to.deep.equal({ delayMs: 0 });
    expect(JOB_DEFINITIONS.ping.payload.safeParse({ delayMs: -1 }).success).to.equal(false);
    expect(JOB_DEFINITIONS.ping.payload.safeParse({ delayMs: 120_000 }).success).to.equal(false);
  });

  it('has the four queues the installer counts (installer/plan/budget.check.ts QUEUE_COUNT)', () => {
    expect(QUEUE_NAMES).to.deep.equal(['system', 'notifications', 'reports', 'exports']);
    expect(redisConnectionsPerProcess()).to.deep.equal({ web: 5, worker: 12 });
  });

  it('validates the payloads of the scheduled and on-demand jobs (ids and dates only, never patient data)', () => {
    expect(JOB_DEFINITIONS['daily-summary'].payload.safeParse({ date: '2026-11-29' }).success).to.equal(true);
    expect(JOB_DEFINITIONS['daily-summary'].payload.safeParse({ date: '29.11.2026' }).success).to.equal(false);
    expect(JOB_DEFINITIONS['appointments-export'].payload.safeParse({ exportId: 'not-a-uuid' }).success).to.equal(false);
    expect(JOB_DEFINITIONS['appointments-export'].payload.safeParse({ exportId: '6f1c1c1e-8d3a-4f55-9d8e-0f6c2b7a9e10' }).success).to.equal(true);
  });

  it('recognises only declared job types', () => {
    expect(isJobType('ping')).to.equal(true);
    expect(isJobType('toString')).to.equal(false);
    expect(isJobType('reminder')).to.equal(false);
  });

  it('counts Redis connections as the planner does: web 1 + queues, worker 3 per queue', () => {
    expect(redisConnectionsPerProcess(1)).to.deep.equal({ web: 2, worker: 3 });
    expect(redisConnectionsPerProcess(4)).to.deep.equal({ web: 5, worker: 12 });
    expect(redisConnectionsPerProcess()).to.deep.equal({ web: 1 + QUEUE_NAMES.length, worker: 3 * QUEUE_NAMES.length });
  });
});
