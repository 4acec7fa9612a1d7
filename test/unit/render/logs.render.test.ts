/**
 * Issue 13, item 5 (logs and disk): every service's log is rotated by Docker with the plan's
 * limits, so no service can fill the disk with its logs. (test/e2e/hardening.e2e.test.ts checks
 * the same with `docker inspect` on a running stack.)
 */
import { expect } from 'chai';
import { parse } from 'yaml';
import { TIERS } from '../../../installer/plan/plan.types.js';
import { LOG_FILE_BYTES, LOG_FILES, logLimits } from '../../../installer/plan/logs.sizing.js';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import { findComposeIssues } from '../../../installer/render/compose.lint.js';
import { fileOf, planFor, renderFor } from './render.helpers.js';

type Svc = Record<string, any>;

describe('render: bounded container logs (issue 13 item 5)', () => {
  for (const tier of TIERS) {
    it(`${tier}: every service rotates its json-file log at the plan's max-size and keeps max-file files`, () => {
      const plan = planFor(tier);
      const s = (parse(fileOf(renderFor(plan), 'compose.yml')) as { services: Record<string, Svc> }).services;
      for (const [name, svc] of Object.entries(s)) {
        expect(svc.logging, name).to.deep.equal({
          driver: 'json-file',
          options: { 'max-size': `${plan.sizing.logs!.maxSizeBytes / 1024}k`, 'max-file': String(plan.sizing.logs!.maxFiles) },
        });
      }
      // The worst case is in the plan with its derivation: every container the tier may run
      // (scaled out to twice the replicas, one surge, the singletons) × files × size.
      const b = plan.sizing.backend.replicas;
      expect(plan.sizing.logs!.diskBytes).to.be.at.least((2 * b + 1 + 4) * LOG_FILE_BYTES * LOG_FILES);
      expect(plan.derivations['sizing.logs.diskBytes']).to.match(/containers × 5 files × 10 MiB/);
    });
  }

  it('the lint refuses a service whose log is not rotated', () => {
    const ok = {
      image: 'x:1',
      cpus: 1,
      mem_limit: '1g',
      read_only: true,
      cap_drop: ['ALL'],
      security_opt: ['no-new-privileges:true'],
      pids_limit: 64,
      healthcheck: { test: ['CMD', 'true'] },
    };
    const rotated = { ...ok, logging: { driver: 'json-file', options: { 'max-size': '10240k', 'max-file': '5' } } };
    expect(findComposeIssues({ services: { a: rotated } })).to.deep.equal([]);
    expect(findComposeIssues({ services: { a: ok } }).map((i) => i.rule)).to.deep.equal(['unbounded-logs']);
    expect(findComposeIssues({ services: { a: { ...ok, logging: { driver: 'json-file' } } } }).map((i) => i.rule)).to.deep.equal(['unbounded-logs']);
    expect(
      findComposeIssues({ services: { a: { ...ok, logging: { driver: 'none', options: { 'max-size': '1k', 'max-file': '1' } } } } }).map((i) => i.rule),
    ).to.deep.equal(['unbounded-logs']);
  });

  it('states the worst-case disk of the logs', () => {
    expect(logLimits(9).diskBytes.value).to.equal(9 * 5 * 10 * 1024 ** 2);
  });

  it("sizes each container's logs from the disk under Docker's data root: 0.05 % of it, within 5–250 MiB, in whole MiB files", () => {
    const MiB = 1024 ** 2;
    const GiB = 1024 ** 3;
    expect(logLimits(9, 100 * GiB).maxSizeBytes.value, "100 GiB: Docker's example").to.equal(10 * MiB);
    expect(logLimits(9, 20 * GiB).maxSizeBytes.value, '20 GiB: 10 MiB per container').to.equal(2 * MiB);
    expect(logLimits(9, 4 * GiB).maxSizeBytes.value, 'a tiny disk: the 5 MiB floor').to.equal(1 * MiB);
    expect(logLimits(9, 4 * 1024 * GiB).maxSizeBytes.value, '4 TiB: the 250 MiB ceiling').to.equal(50 * MiB);
    expect(logLimits(9, 20 * GiB).diskBytes.value).to.equal(9 * 5 * 2 * MiB);
    expect(logLimits(9, 20 * GiB).maxSizeBytes.derivation).to.match(/0\.05 % of the 20 GiB disk under Docker's data root/);
    expect(logLimits(9, null).maxSizeBytes.value, 'not measured: the default').to.equal(LOG_FILE_BYTES);
  });

  it('the plan sizes logs from the detected disk, the same for every tier (a re-tier never recreates PostgreSQL for its logs)', () => {
    const GiB = 1024 ** 3;
    const disk = { dockerRoot: { path: '/var/lib/docker', measuredPath: '/var/lib/docker', freeBytes: 10 * GiB, totalBytes: 20 * GiB, source: 'statfs' } };
    const host = { ...hypotheticalHost(4, 16 * GiB), disk };
    const a = planCarebox(host, { tier: 'default', users: null, usersSource: null, nodes: null });
    const b = planCarebox(host, { tier: 'optimized', users: null, usersSource: null, nodes: null });
    expect(a.sizing.logs!.maxSizeBytes).to.equal(2 * 1024 ** 2);
    expect(b.sizing.logs!.maxSizeBytes).to.equal(a.sizing.logs!.maxSizeBytes);
    expect(planCarebox(hypotheticalHost(4, 16 * GiB), { tier: 'default', users: null, usersSource: null, nodes: null }).sizing.logs!.maxSizeBytes).to.equal(
      LOG_FILE_BYTES,
    );
  });
});
