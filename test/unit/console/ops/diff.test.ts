import { expect } from 'chai';
import { sizingChanges, unifiedDiff } from '../../../../console/ops/diff.js';

describe('unifiedDiff', () => {
  it('is empty for equal texts and shows a hunk with context for a change', () => {
    const a = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].join('\n') + '\n';
    const b = a.replace('e\n', 'E\n');
    expect(unifiedDiff('x.conf', a, a)).to.equal('');
    const d = unifiedDiff('x.conf', a, b);
    expect(d).to.equal(['--- a/x.conf', '+++ b/x.conf', '@@ -2,7 +2,7 @@', ' b', ' c', ' d', '-e', '+E', ' f', ' g', ' h', ''].join('\n'));
  });

  it('splits distant changes into separate hunks and handles created files', () => {
    const a = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    const b = a.replace('line 2', 'LINE 2').replace('line 27', 'LINE 27');
    expect(unifiedDiff('f', a, b).match(/^@@/gm)).to.have.length(2);
    const created = unifiedDiff('new.ini', null, 'x = 1\n');
    expect(created).to.match(/^--- \/dev\/null\n\+\+\+ b\/new.ini\n@@ -0,0 \+1,1 @@\n\+x = 1\n$/);
  });
});

describe('sizingChanges', () => {
  it('lists every changed leaf with bytes in human units', () => {
    const before = { backend: { replicas: 1, workers: 2, limits: { memoryBytes: 368 * 1024 ** 2 } }, pgbouncer: null };
    const after = { backend: { replicas: 2, workers: 1, limits: { memoryBytes: 208 * 1024 ** 2 } }, pgbouncer: null };
    const c = sizingChanges(before, after);
    expect(c.map((x) => x.path)).to.deep.equal(['backend.limits.memoryBytes', 'backend.replicas', 'backend.workers']);
    expect(c[0]!.text).to.equal('368 MiB → 208 MiB');
    expect(c[1]!.text).to.equal('1 → 2');
    expect(sizingChanges(before, before)).to.deep.equal([]);
  });

  it('shows a section that appears or disappears (PgBouncer)', () => {
    const c = sizingChanges({ pgbouncer: null }, { pgbouncer: { maxClientConn: 400 } });
    expect(c.map((x) => x.path)).to.include('pgbouncer.maxClientConn');
  });
});
