import { expect } from 'chai';
import { parse } from 'yaml';
import { completePlan, nginxUpstreamFor } from '../../../installer/plan/plan.complete.js';
import { WORKER_JOBS_EXTRA_MS, stopGraceSeconds, workerShutdownTimeout } from '../../../installer/plan/grace.sizing.js';
import { drainIdleCloseMs, nginxTempBytes } from '../../../installer/plan/service.sizing.js';
import { DRAIN_IDLE_CLOSE_MARGIN_MS } from '../../../installer/plan/sizing.constants.js';
import { LEGACY_SCHEDULER_MEMORY_BYTES, SCHEDULER_CPUS } from '../../../installer/plan/scheduler.sizing.js';
import { LOG_FILE_BYTES, LOG_FILES } from '../../../installer/plan/logs.sizing.js';
import type { Plan } from '../../../installer/plan/plan.types.js';
import { fileOf, planFor, renderFor } from '../render/render.helpers.js';

const MiB = 1024 ** 2;

/** A copy of `plan` as an older Carebox recorded it: none of the figures added to the plan since. */
function recordedBefore(plan: Plan): Plan {
  const old = structuredClone(plan);
  delete old.sizing.backend.drainIdleCloseMs;
  delete old.sizing.queue.shutdownTimeoutMs;
  delete old.sizing.nginx.tempBytes;
  delete old.sizing.nginx.upstream;
  delete old.sizing.nginx.minVersion;
  delete old.sizing.postgres.shmSizeBytes;
  delete old.sizing.postgres.walBuffersBytes;
  delete old.sizing.postgres.maxParallelMaintenanceWorkers;
  delete old.sizing.stopGraceS;
  delete old.sizing.pidsLimit;
  return old;
}

describe('plan: the figures render copies (plan.complete)', () => {
  it('derives the worker drain, the backend idle close and the nginx tmpfs with one-line derivations', () => {
    expect(workerShutdownTimeout(10_000).value).to.equal(10_000 + WORKER_JOBS_EXTRA_MS);
    expect(workerShutdownTimeout(10_000).derivation).to.match(/^queue worker SHUTDOWN_TIMEOUT_MS 25000 ms = drain 10000 ms \+ 15000 ms/);
    expect(drainIdleCloseMs(4).value).to.equal(4_000 + DRAIN_IDLE_CLOSE_MARGIN_MS);
    expect(drainIdleCloseMs(4).derivation).to.match(/^DRAIN_IDLE_CLOSE_MS 6000 = upstream keepalive_timeout 4 s/);
    // Two bodies + 8 MiB, rounded up to whole MiB.
    expect(nginxTempBytes(MiB).value).to.equal(10 * MiB);
    expect(nginxTempBytes(MiB + 1).value).to.equal(11 * MiB);
    expect(nginxTempBytes(MiB).derivation).to.match(/= 2 × body limit 1 MiB \+ 8 MiB/);
  });

  for (const tier of ['default', 'optimized', 'horizontal', 'cluster'] as const) {
    it(`${tier}: plan --json holds them with derivations, and the worker's grace period covers its drain`, () => {
      const plan = planFor(tier);
      const s = plan.sizing;
      expect(s.backend.drainIdleCloseMs).to.equal(s.nginx.upstream!.keepaliveTimeoutS * 1000 + DRAIN_IDLE_CLOSE_MARGIN_MS);
      expect(s.queue.shutdownTimeoutMs).to.equal(s.shutdownTimeoutMs + WORKER_JOBS_EXTRA_MS);
      expect(s.nginx.tempBytes).to.equal(nginxTempBytes(s.bodyLimitBytes).value);
      for (const key of ['sizing.backend.drainIdleCloseMs', 'sizing.queue.shutdownTimeoutMs', 'sizing.nginx.tempBytes']) {
        expect(plan.derivations[key], key).to.be.a('string').and.match(/=/);
        expect(plan.derivations[key]!.includes('\n'), key).to.equal(false);
      }
      // The backend drains idle connections within its own drain, and Docker waits longer than the worker.
      expect(s.backend.drainIdleCloseMs!).to.be.below(s.shutdownTimeoutMs);
      expect(s.stopGraceS!.worker * 1000).to.be.above(s.queue.shutdownTimeoutMs!);
    });
  }

  it('keeps every figure a plan holds', () => {
    const plan = planFor('horizontal');
    const full = completePlan(plan);
    const { scheduler: _a, ...rest } = full.sizing;
    const { scheduler: _b, ...planRest } = plan.sizing;
    expect(rest).to.deep.equal(planRest);
    expect(full.derivations).to.equal(plan.derivations);
    expect(plan.sizing).to.not.have.property('scheduler');
  });

  it('derives for a plan recorded before them what the planner holds now, without changing the plan', () => {
    for (const tier of ['default', 'horizontal', 'cluster'] as const) {
      const plan = planFor(tier);
      const old = recordedBefore(plan);
      const snapshot = structuredClone(old);
      const full = completePlan(old);
      expect(old, 'input unchanged').to.deep.equal(snapshot);
      const s = plan.sizing;
      const f = full.sizing;
      expect(f.backend.drainIdleCloseMs, tier).to.equal(s.backend.drainIdleCloseMs);
      expect(f.queue.shutdownTimeoutMs, tier).to.equal(s.queue.shutdownTimeoutMs);
      expect(f.nginx.tempBytes, tier).to.equal(s.nginx.tempBytes);
      expect(f.nginx.minVersion, tier).to.equal(s.nginx.minVersion);
      expect(f.postgres.shmSizeBytes, tier).to.equal(s.postgres.shmSizeBytes);
      expect(f.postgres.walBuffersBytes, tier).to.equal(s.postgres.walBuffersBytes);
      expect(f.postgres.maxParallelMaintenanceWorkers, tier).to.equal(s.postgres.maxParallelMaintenanceWorkers);
      expect(f.stopGraceS, tier).to.deep.equal(stopGraceSeconds(s.shutdownTimeoutMs));
      expect(f.pidsLimit, tier).to.deep.equal(s.pidsLimit);
      expect(f.nginx.upstream, tier).to.deep.equal(nginxUpstreamFor(old));
    }
  });

  it("fills in Docker's example log limits and the legacy scheduler's limits when the plan has none", () => {
    const old = structuredClone(planFor('default'));
    delete old.sizing.logs;
    const f = completePlan(old).sizing;
    expect(f.logs).to.deep.equal({ driver: 'json-file', maxSizeBytes: LOG_FILE_BYTES, maxFiles: LOG_FILES });
    expect(f.scheduler).to.deep.equal({ memoryBytes: LEGACY_SCHEDULER_MEMORY_BYTES, cpus: SCHEDULER_CPUS, drillMemoryBytes: 0 });
  });

  it('a plan recorded before them renders the same compose.yml, nginx.conf and postgresql.conf', () => {
    for (const tier of ['default', 'horizontal'] as const) {
      const plan = planFor(tier);
      const now = renderFor(plan);
      const before = renderFor(recordedBefore(plan));
      for (const path of ['compose.yml', 'nginx/nginx.conf', 'postgres/postgresql.conf'])
        expect(fileOf(before, path), `${tier} ${path}`).to.equal(fileOf(now, path));
      const compose = parse(fileOf(now, 'compose.yml')) as { services: Record<string, { environment?: Record<string, string>; tmpfs?: string[] }> };
      expect(compose.services.backend!.environment!.DRAIN_IDLE_CLOSE_MS).to.equal(String(plan.sizing.backend.drainIdleCloseMs));
      expect(compose.services.worker!.environment!.SHUTDOWN_TIMEOUT_MS).to.equal(String(plan.sizing.queue.shutdownTimeoutMs));
      expect(compose.services.nginx!.tmpfs).to.deep.equal([`/tmp:mode=1777,size=${plan.sizing.nginx.tempBytes! / MiB}m`]);
    }
  });
});
