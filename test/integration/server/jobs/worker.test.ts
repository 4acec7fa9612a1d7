import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../../server/src/config/env.config.js';
import { redisConnectionsPerProcess } from '../../../../server/src/jobs/job.definitions.js';
import { JobProducer, type JobState } from '../../../../server/src/jobs/job.producer.js';
import { createWebDependencies } from '../../../../server/src/lifecycle/web.dependencies.js';
import { createLogger } from '../../../../server/src/observability/logger.js';
import { eventually, serverEnv, ThrowawayRedis } from '../support/services.js';
import { SpawnedProcess } from '../support/spawned-process.js';

const silent = createLogger({ level: 'silent', role: 'test' });

describe('server jobs (integration): the worker process on real Redis', function () {
  this.timeout(60_000);
  const processes: SpawnedProcess[] = [];
  const producers: JobProducer[] = [];
  let scratch: string;

  const startWorker = (env: Record<string, string>): SpawnedProcess => {
    const worker = SpawnedProcess.start('worker', env);
    processes.push(worker);
    return worker;
  };
  const producerFor = (env: Record<string, string>): JobProducer => {
    const producer = JobProducer.create(loadConfig(env), silent, () => undefined);
    producers.push(producer);
    return producer;
  };
  const waitForStatus = (producer: JobProducer, id: string, status: JobState['status'], timeoutMs: number): Promise<JobState> =>
    eventually(
      async () => {
        const state = await producer.getJob('system', id);
        return state?.status === status ? state : undefined;
      },
      timeoutMs,
      `job ${id} to be ${status}`,
    );

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'carebox-worker-it-'));
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
    await Promise.all(producers.splice(0).map((p) => p.close(500)));
  });
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('processes a job, reports healthy through its heartbeat, and exits 0 on SIGTERM', async () => {
    const heartbeat = join(scratch, 'hb-basic');
    const env = serverEnv({ LOG_LEVEL: 'info', WORKER_HEARTBEAT_FILE: heartbeat });
    const worker = startWorker(env);
    await worker.waitForLog((l) => l.msg === 'queue worker started', 15_000, 'worker start');

    const producer = producerFor(env);
    const job = await producer.enqueue('ping', {});
    const done = await waitForStatus(producer, job.id, 'succeeded', 15_000);
    expect(done).to.include({ type: 'ping', lastError: null });
    await worker.waitForLog((l) => l.msg === 'job succeeded' && l.jobId === job.id, 5_000, 'the success log line');

    await eventually(async () => (existsSync(heartbeat) ? true : undefined), 10_000, 'heartbeat file');
    const healthy = SpawnedProcess.start('healthcheck', env, ['worker']);
    expect((await healthy.exited).code, healthy.stderr).to.equal(0);

    worker.signal('SIGTERM');
    expect(await worker.exited).to.deep.equal({ code: 0, signal: null });
    expect(
      worker.logs.some((l) => l.msg === 'worker stopped' && l.clean === true),
      worker.describe(),
    ).to.equal(true);
    const unhealthy = SpawnedProcess.start('healthcheck', env, ['worker']);
    expect((await unhealthy.exited).code).to.equal(1);
    expect(unhealthy.stderr).to.match(/^unhealthy: no worker heartbeat/);
  });

  it('times out a slow attempt, retries it with backoff, then fails it for good', async () => {
    const env = serverEnv({ LOG_LEVEL: 'info', WORKER_HEARTBEAT_FILE: join(scratch, 'hb-timeout') });
    const worker = startWorker(env);
    const producer = producerFor(env);
    const job = await producer.enqueue('ping', { delayMs: 5_000 }, { timeoutMs: 300, retries: 1, backoffDelayMs: 200 });
    const failed = await waitForStatus(producer, job.id, 'failed', 20_000);
    expect(failed.retriesLeft).to.equal(0);
    expect(failed.lastError).to.match(/ping attempt timed out after 300 ms/);
    expect(worker.logs.filter((l) => l.jobId === job.id).map((l) => l.msg)).to.include.members([
      'job attempt failed; will retry',
      'job failed; no retries left',
    ]);
  });

  it('re-queues the job of a worker killed mid-job; another worker completes it', async () => {
    const env = serverEnv({ LOG_LEVEL: 'debug', WORKER_HEARTBEAT_FILE: join(scratch, 'hb-stall') });
    const first = startWorker(env);
    const producer = producerFor(env);
    const job = await producer.enqueue('ping', { delayMs: 1_500 });
    await first.waitForLog((l) => l.msg === 'job started' && l.jobId === job.id, 15_000, 'the job to start');
    first.signal('SIGKILL');
    await first.exited;
    expect((await producer.depths())[0]!.active, 'orphaned in active').to.equal(1);

    const second = startWorker(env);
    await second.waitForLog((l) => l.msg === 'stalled job re-queued' && l.jobId === job.id, 30_000, 'the stall check');
    await waitForStatus(producer, job.id, 'succeeded', 15_000);
    expect((await producer.depths())[0]!.active).to.equal(0);
  });

  it('opens exactly the Redis connections the planner counts: worker 3 per queue, web 1 + 1 per queue', async () => {
    const redis = await ThrowawayRedis.start();
    try {
      const env = serverEnv({ REDIS_URL: redis.url, WORKER_HEARTBEAT_FILE: join(scratch, 'hb-count') });
      const expected = redisConnectionsPerProcess();
      const worker = startWorker(env);
      await eventually(
        async () => ((await redis.otherClients()).length === expected.worker ? true : undefined),
        15_000,
        `${expected.worker} worker connections`,
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(await redis.otherClients()).to.have.length(expected.worker);

      const web = createWebDependencies(loadConfig(env), silent, () => undefined);
      try {
        await eventually(() => web.jobs.depths().catch(() => undefined), 10_000, 'producer connected');
        await eventually(async () => (web.redis.status === 'ready' ? true : undefined), 10_000, 'ioredis connected');
        expect(await redis.otherClients()).to.have.length(expected.worker + expected.web);
      } finally {
        await web.close();
      }
      worker.signal('SIGTERM');
      expect((await worker.exited).code).to.equal(0);
      await eventually(async () => ((await redis.otherClients()).length === 0 ? true : undefined), 5_000, 'all connections closed');
    } finally {
      await redis.stop();
    }
  });

  it('survives a Redis crash without exiting and processes jobs once Redis is back', async () => {
    const redis = await ThrowawayRedis.start();
    try {
      const env = serverEnv({ REDIS_URL: redis.url, LOG_LEVEL: 'info', WORKER_HEARTBEAT_FILE: join(scratch, 'hb-crash') });
      const worker = startWorker(env);
      const producer = producerFor(env);
      const before = await producer.enqueue('ping', {});
      await waitForStatus(producer, before.id, 'succeeded', 15_000);

      await redis.stop();
      await new Promise((r) => setTimeout(r, 2_000));
      expect(worker.child.exitCode, worker.describe()).to.equal(null);

      await redis.startAgain();
      const after = await eventually(() => producer.enqueue('ping', {}).catch(() => undefined), 15_000, 'enqueue after restart');
      await waitForStatus(producer, after.id, 'succeeded', 30_000);
      expect(worker.child.exitCode).to.equal(null);
      worker.signal('SIGTERM');
      expect((await worker.exited).code).to.equal(0);
    } finally {
      await redis.stop();
    }
  });

  it('exits 1 (to be restarted with a backoff) when Redis refuses it with "max number of clients reached"', async () => {
    const redis = await ThrowawayRedis.start(['--maxclients', '1']);
    const { connect } = await import('node:net');
    const holder = connect(redis.port, '127.0.0.1');
    try {
      await new Promise((resolve) => holder.once('connect', resolve));
      const env = serverEnv({ REDIS_URL: redis.url, LOG_LEVEL: 'info', WORKER_HEARTBEAT_FILE: join(scratch, 'hb-full') });
      const worker = startWorker(env);
      const fatal = await worker.waitForLog((l) => l.msg === 'queue could not connect to Redis; giving up on this process', 15_000, 'the refusal');
      expect(fatal.maxClients).to.equal(true);
      expect((await worker.exited).code, worker.describe()).to.equal(1);

      // The web process reports the same condition instead of running on with a dead producer.
      let broken: Error | null = null;
      const web = createWebDependencies(loadConfig(env), silent, (_queue, err) => {
        broken = err;
      });
      try {
        await eventually(async () => broken ?? undefined, 10_000, 'the producer to report the refusal');
        expect(String(broken)).to.match(/max number of clients reached/);
      } finally {
        await web.close();
      }
    } finally {
      holder.destroy();
      await redis.stop();
    }
  });

  it('exits 1 naming the bad variables when the environment is invalid', async () => {
    const worker = startWorker({ ...serverEnv(), QUEUE_CONCURRENCY: '0', REDIS_URL: 'memcached://x' });
    expect((await worker.exited).code).to.equal(1);
    expect(worker.stderr).to.include('carebox-worker: invalid configuration');
    expect(worker.stderr).to.include('  - QUEUE_CONCURRENCY:');
    expect(worker.stderr).to.include('  - REDIS_URL:');
    expect(worker.stderr).not.to.include('    at ');
  });
});
