/**
 * docs/tiers.md is generated from the planner (scripts/tiers.doc.ts); this regenerates it in
 * memory and fails when the committed file is stale.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GRID_CPUS, GRID_MEMORY_GIB, renderTiersDoc, thousands, TIERS_DOC_COMMAND, TIERS_DOC_PATH } from '../../../scripts/tiers.doc.js';
import { SEED_TIERS, seedDemand } from '../../../installer/plan/seed.tiers.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

describe('docs/tiers.md (generated from the planner)', function () {
  this.timeout(60_000);
  let generated: string;
  before(() => {
    generated = renderTiersDoc();
  });

  it(`is up to date (else run \`${TIERS_DOC_COMMAND}\`)`, () => {
    const committed = readFileSync(join(repo, TIERS_DOC_PATH), 'utf8');
    if (committed !== generated) {
      const a = committed.split('\n');
      const b = generated.split('\n');
      const i = a.findIndex((line, n) => line !== b[n]);
      const at = i === -1 ? Math.min(a.length, b.length) : i;
      expect.fail(
        `${TIERS_DOC_PATH} is stale: run \`${TIERS_DOC_COMMAND}\` and commit it.\nfirst difference at line ${at + 1}:\n  file:      ${a[at] ?? '(end)'}\n  generated: ${b[at] ?? '(end)'}`,
      );
    }
  });

  it('regenerates byte-identical', () => {
    expect(renderTiersDoc()).to.equal(generated);
  });

  it('has a row for every host of the grid (1–64 CPUs × 2–128 GiB), in both grid tables', () => {
    for (const cpus of GRID_CPUS) {
      for (const gib of GRID_MEMORY_GIB) {
        const rows = generated.split('\n').filter((l) => l.startsWith(`| ${cpus} | ${gib} GiB | `));
        expect(rows, `${cpus} CPUs / ${gib} GiB`).to.have.length(2);
        expect(rows[0], `${cpus} CPUs / ${gib} GiB is planned`).to.not.include('refused');
      }
    }
  });

  it('spells out the seed’s connection overrun for each of its tiers', () => {
    for (const s of SEED_TIERS) {
      const d = seedDemand(s);
      expect(generated).to.include(d.derivation);
      if (d.overrun) expect(generated).to.include(`overrun by ${thousands(d.demand - d.limit)} connections`);
    }
  });

  it('formats thousands without the locale', () => {
    expect(thousands(0)).to.equal('0');
    expect(thousands(999)).to.equal('999');
    expect(thousands(1000)).to.equal('1,000');
    expect(thousands(1234567)).to.equal('1,234,567');
  });
});
