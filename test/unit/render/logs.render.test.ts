/**
 * Issue 13, item 5 (logs and disk): every service's log is rotated by Docker with the plan's
 * limits, so no service can fill the disk with its logs. (test/e2e/hardening.e2e.test.ts checks
 * the same with `docker inspect` on a running stack.)
 */
import { expect } from 'chai';
import { parse } from 'yaml';
import { TIERS } from '../../../installer/plan/plan.types.js';
import { LOG_FILE_BYTES, LOG_FILES, logLimits } from '../../../installer/plan/logs.sizing.js';
import { findComposeIssues } from '../../../installer/render/compose.lint.js';
import { fileOf, planFor, renderFor } from './render.helpers.js';

type Svc = Record<string, any>;

describe('render: bounded container logs (issue 13 item 5)', () => {
  for (const tier of TIERS) {
    it(`${tier}: every service rotates its json-file log at the plan's max-size and keeps max-file files`, () => {
      const plan = planFor(tier);
      const s = (parse(fileOf(renderFor(plan), 'compose.yml')) as { services: Record<string, Svc> }).services;
      for (const [name, svc] of Object.entries(s)) {
        expect(svc.logging, name).to.deep.equal({ driver: 'json-file', options: { 'max-size': `${plan.sizing.logs!.maxSizeBytes / 1024}k`, 'max-file': String(plan.sizing.logs!.maxFiles) } });
      }
      // The worst case is in the plan with its derivation: every container the tier may run
      // (scaled out to twice the replicas, one surge, the singletons) × files × size.
      const b = plan.sizing.backend.replicas;
      expect(plan.sizing.logs!.diskBytes).to.be.at.least((2 * b + 1 + 4) * LOG_FILE_BYTES * LOG_FILES);
      expect(plan.derivations['sizing.logs.diskBytes']).to.match(/containers × 5 files × 10 MiB/);
    });
  }

  it('the lint refuses a service whose log is not rotated', () => {
    const ok = { image: 'x:1', cpus: 1, mem_limit: '1g', read_only: true, cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'], pids_limit: 64, healthcheck: { test: ['CMD', 'true'] } };
    const rotated = { ...ok, logging: { driver: 'json-file', options: { 'max-size': '10240k', 'max-file': '5' } } };
    expect(findComposeIssues({ services: { a: rotated } })).to.deep.equal([]);
    expect(findComposeIssues({ services: { a: ok } }).map((i) => i.rule)).to.deep.equal(['unbounded-logs']);
    expect(findComposeIssues({ services: { a: { ...ok, logging: { driver: 'json-file' } } } }).map((i) => i.rule)).to.deep.equal(['unbounded-logs']);
    expect(findComposeIssues({ services: { a: { ...ok, logging: { driver: 'none', options: { 'max-size': '1k', 'max-file': '1' } } } } }).map((i) => i.rule)).to.deep.equal(['unbounded-logs']);
  });

  it('states the worst-case disk of the logs', () => {
    expect(logLimits(9).diskBytes.value).to.equal(9 * 5 * 10 * 1024 ** 2);
  });
});
