import { expect } from 'chai';
import { parse } from 'yaml';
import { stopGracePeriods, stopGraceSeconds } from '../../../installer/plan/grace.sizing.js';
import { pgSharedMemory } from '../../../installer/plan/postgres.sizing.js';
import { fileOf, planFor, renderFor } from './render.helpers.js';

const MiB = 1024 ** 2;

describe('settings the plan holds (shm_size, wal_buffers, parallel maintenance, stop grace periods)', () => {
  it('derives /dev/shm, wal_buffers and parallel maintenance workers within their bounds (PgTune, PostgreSQL docs)', () => {
    const small = pgSharedMemory(512 * MiB, 128 * MiB, 0);
    expect(small.shmSizeBytes.value).to.equal(128 * MiB);
    expect(small.walBuffersBytes.value).to.equal(3 * MiB);
    expect(small.maxParallelMaintenanceWorkers.value).to.equal(0);
    const big = pgSharedMemory(64 * 1024 * MiB, 8 * 1024 * MiB, 4);
    expect(big.shmSizeBytes.value).to.equal(1024 * MiB);
    expect(big.walBuffersBytes.value).to.equal(16 * MiB);
    expect(big.maxParallelMaintenanceWorkers.value).to.equal(4);
    expect(pgSharedMemory(2048 * MiB, 20 * MiB, 1).walBuffersBytes.value).to.equal(MiB);
    expect(big.shmSizeBytes.derivation).to.match(/clamp\(PostgreSQL memory 64 GiB \/ 8, 128 MiB, 1 GiB\)/);
  });

  it('gives Docker more time than each process takes to stop', () => {
    const g = stopGraceSeconds(10_000);
    expect(g).to.deep.equal({ backend: 20, worker: 35, db: 60, redis: 30, nginx: 20 });
    expect(stopGracePeriods(10_000).worker.derivation).to.match(/active jobs 10000 ms \+ closing connections 15000 ms/);
  });

  for (const tier of ['default', 'optimized', 'horizontal'] as const) {
    it(`${tier}: plan --json holds them with derivations, and compose.yml and postgresql.conf render them`, () => {
      const plan = planFor(tier);
      const pg = plan.sizing.postgres;
      for (const k of ['shmSizeBytes', 'walBuffersBytes', 'maxParallelMaintenanceWorkers'] as const) {
        expect(pg[k], k).to.be.a('number');
        expect(plan.derivations[`sizing.postgres.${k}`], k).to.be.a('string').and.not.equal('');
      }
      for (const svc of ['backend', 'worker', 'db', 'redis', 'nginx'] as const) expect(plan.derivations[`sizing.stopGraceS.${svc}`], svc).to.be.a('string');
      const files = renderFor(plan);
      const compose = parse(fileOf(files, 'compose.yml')) as { services: Record<string, { shm_size?: string; stop_grace_period?: string }> };
      expect(compose.services.db!.shm_size).to.equal(`${pg.shmSizeBytes! / MiB}m`);
      for (const svc of ['backend', 'worker', 'db', 'redis', 'nginx'] as const)
        expect(compose.services[svc]!.stop_grace_period, svc).to.equal(`${plan.sizing.stopGraceS![svc]}s`);
      const conf = fileOf(files, 'postgres/postgresql.conf');
      expect(conf).to.match(new RegExp(`^wal_buffers = ${pg.walBuffersBytes! / MiB}MB`, 'm'));
      expect(conf).to.match(new RegExp(`^max_parallel_maintenance_workers = ${pg.maxParallelMaintenanceWorkers}$`, 'm'));
    });
  }

  it('a plan recorded before it held them renders the same files', () => {
    const plan = planFor('optimized');
    const old = structuredClone(plan);
    delete old.sizing.stopGraceS;
    delete old.sizing.postgres.shmSizeBytes;
    delete old.sizing.postgres.walBuffersBytes;
    delete old.sizing.postgres.maxParallelMaintenanceWorkers;
    const now = renderFor(plan);
    const before = renderFor(old);
    for (const path of ['compose.yml', 'postgres/postgresql.conf']) expect(fileOf(before, path), path).to.equal(fileOf(now, path));
  });
});
