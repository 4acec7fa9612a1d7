import { expect } from 'chai';
import { countCpuList, parseCpuList, parseCpusAllowedList } from '../../../installer/detect/cpu.parse.js';

describe('detect/cpu.parse', () => {
  describe('parseCpuList', () => {
    it('expands ranges and single CPUs: 0-3,8,10-11', () => {
      expect(parseCpuList('0-3,8,10-11\n')).to.deep.equal({ ok: true, value: [0, 1, 2, 3, 8, 10, 11] });
    });
    it('accepts a single CPU and a stride range', () => {
      expect(parseCpuList('5')).to.deep.equal({ ok: true, value: [5] });
      expect(parseCpuList('0-7:2')).to.deep.equal({ ok: true, value: [0, 2, 4, 6] });
    });
    it('de-duplicates and sorts overlapping parts', () => {
      expect(parseCpuList('4,0-2,1')).to.deep.equal({ ok: true, value: [0, 1, 2, 4] });
    });
    it('reads an empty list as no CPUs', () => {
      expect(parseCpuList('\n')).to.deep.equal({ ok: true, value: [] });
    });
    it('rejects garbage, reversed ranges and absurd indices with a reason', () => {
      for (const bad of ['zzz', '7-3', '0-3,', '1,,2', '-1', '0-70000', 'x-y']) {
        const r = parseCpuList(bad);
        expect(r.ok, bad).to.equal(false);
        if (!r.ok) expect(r.reason).to.be.a('string').and.not.equal('');
      }
    });
  });

  describe('countCpuList', () => {
    it('counts CPUs', () => {
      expect(countCpuList('0-3,8,10-11')).to.deep.equal({ ok: true, value: 7 });
    });
    it('refuses an empty list (it cannot bound a running process)', () => {
      expect(countCpuList('').ok).to.equal(false);
    });
  });

  describe('parseCpusAllowedList', () => {
    const status = 'Name:\tnode\nCpus_allowed:\t13\nCpus_allowed_list:\t0-1,4\nMems_allowed_list:\t0\n';
    it('counts the affinity mask from /proc/self/status', () => {
      expect(parseCpusAllowedList(status)).to.deep.equal({ ok: true, value: 3 });
    });
    it('fails without the line or with a malformed one', () => {
      expect(parseCpusAllowedList('Name:\tnode\n').ok).to.equal(false);
      expect(parseCpusAllowedList('Cpus_allowed_list:\tx-y\n').ok).to.equal(false);
      expect(parseCpusAllowedList('').ok).to.equal(false);
    });
  });
});
