import { expect } from 'chai';
import { renderP95Chart } from '../../../../console/ui/p95.chart.js';

describe('loadtest: p95 chart', () => {
  const points = [
    { users: 50, p95Ms: 90, sustained: true },
    { users: 10, p95Ms: 20, sustained: true },
    { users: 100, p95Ms: 400, sustained: false },
  ];

  it('draws one column per level in user order, the limit line, ● for sustained and ✗ for not', () => {
    const lines = renderP95Chart(points, { limitMs: 200, height: 9, columnWidth: 7 });
    const plot = lines.slice(1, 10);
    expect(lines[0]).to.include('limit 200 ms');
    expect(plot[0]).to.match(/^ 400 ┤/); // top row labelled with the largest p95
    expect(plot[0]).to.include('✗');
    expect(plot.some((l) => /^ 200 ┤╌+/.test(l))).to.equal(true);
    expect(plot.join('\n').match(/●/g)).to.have.length(2);
    const xLabels = lines[11]!;
    expect(xLabels.indexOf('10')).to.be.below(xLabels.indexOf('50'));
    expect(xLabels.indexOf('50')).to.be.below(xLabels.indexOf('100'));
    // Each mark sits in its column: the ✗ of 100 users is right of the ● of 50.
    const colOf = (mark: string) => plot.find((l) => l.includes(mark))!.lastIndexOf(mark);
    expect(colOf('✗')).to.be.above(plot.find((l) => l.includes('●'))!.indexOf('●'));
  });

  it('keeps the limit visible when everything is fast, and says so when there is nothing', () => {
    const lines = renderP95Chart([{ users: 10, p95Ms: 3, sustained: true }], { limitMs: 200, height: 6 });
    expect(lines.some((l) => l.includes('200 ┤╌'))).to.equal(true);
    expect(lines.some((l) => l.startsWith(' 250 ┤') || l.startsWith('250 ┤'))).to.equal(true);
    expect(renderP95Chart([], { limitMs: 200 })).to.deep.equal(['(no level measured)']);
  });
});
