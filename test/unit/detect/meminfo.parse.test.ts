import { expect } from 'chai';
import { parseMeminfo } from '../../../installer/detect/meminfo.parse.js';

describe('detect/meminfo.parse', () => {
  it('reads MemTotal and SwapTotal in bytes (kernel kB = KiB)', () => {
    const text = 'MemTotal:       24684100 kB\nMemFree:        23460164 kB\nSwapTotal:       2097148 kB\nSwapFree:        2097148 kB\n';
    expect(parseMeminfo(text)).to.deep.equal({
      ok: true,
      value: { memTotalBytes: 24684100 * 1024, swapTotalBytes: 2097148 * 1024 },
    });
  });
  it('reports no swap as 0 and an absent SwapTotal line as null', () => {
    const a = parseMeminfo('MemTotal: 1024 kB\nSwapTotal: 0 kB\n');
    expect(a.ok && a.value.swapTotalBytes).to.equal(0);
    const b = parseMeminfo('MemTotal: 1024 kB\n');
    expect(b.ok && b.value.swapTotalBytes).to.equal(null);
  });
  it('fails on a missing, zero or malformed MemTotal', () => {
    for (const bad of ['', 'nonsense\n', 'MemTotal: lots kB\n', 'MemTotal: 0 kB\n', 'MemFree: 100 kB\n']) {
      expect(parseMeminfo(bad).ok, JSON.stringify(bad)).to.equal(false);
    }
  });
});
