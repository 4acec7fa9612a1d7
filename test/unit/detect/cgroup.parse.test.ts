import { expect } from 'chai';
import {
  parseCfsQuota,
  parseCpuMax,
  parseMemoryLimitInBytes,
  parseMemoryMax,
  parseProcCgroup,
  parseV1HierarchicalMemoryLimit,
} from '../../../installer/detect/cgroup.parse.js';

describe('detect/cgroup.parse', () => {
  describe('parseProcCgroup', () => {
    it('reads v1 lines by controller, including combined and named hierarchies', () => {
      const r = parseProcCgroup('12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/init.scope\n');
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      expect(r.value.v2Path).to.equal(null);
      expect(Object.fromEntries(r.value.v1)).to.deep.equal({
        memory: '/docker/abc',
        cpu: '/docker/abc',
        cpuacct: '/docker/abc',
        'name=systemd': '/init.scope',
      });
    });
    it('reads the v2 line 0::/path', () => {
      const r = parseProcCgroup('0::/user.slice/user-1000.slice/session-2.scope\n');
      expect(r.ok && r.value.v2Path).to.equal('/user.slice/user-1000.slice/session-2.scope');
    });
    it('reads both on a hybrid host', () => {
      const r = parseProcCgroup('4:cpu,cpuacct:/a\n0::/a\n');
      expect(r.ok && r.value.v2Path).to.equal('/a');
      expect(r.ok && r.value.v1.get('cpu')).to.equal('/a');
    });
    it('keeps colons inside the path', () => {
      const r = parseProcCgroup('0::/weird:name\n');
      expect(r.ok && r.value.v2Path).to.equal('/weird:name');
    });
    it('fails on an empty or garbage file', () => {
      expect(parseProcCgroup('').ok).to.equal(false);
      expect(parseProcCgroup('garbage\n').ok).to.equal(false);
    });
  });

  describe('parseCpuMax (v2)', () => {
    it('reads a quota as CPUs, fractional kept', () => {
      expect(parseCpuMax('150000 100000\n')).to.deep.equal({ ok: true, value: 1.5 });
      expect(parseCpuMax('200000 100000')).to.deep.equal({ ok: true, value: 2 });
      expect(parseCpuMax('50000 100000')).to.deep.equal({ ok: true, value: 0.5 });
    });
    it('reads "max" as no quota', () => {
      expect(parseCpuMax('max 100000\n')).to.deep.equal({ ok: true, value: null });
      expect(parseCpuMax('max')).to.deep.equal({ ok: true, value: null });
    });
    it('fails on garbage, empty and zero values', () => {
      for (const bad of ['garbage', '', '100000', '0 100000', '100000 0', '1 2 3', 'max abc']) {
        expect(parseCpuMax(bad).ok, bad).to.equal(false);
      }
    });
  });

  describe('parseCfsQuota (v1)', () => {
    it('divides quota by period', () => {
      expect(parseCfsQuota('200000\n', '100000\n')).to.deep.equal({ ok: true, value: 2 });
      expect(parseCfsQuota('150000', '100000')).to.deep.equal({ ok: true, value: 1.5 });
    });
    it('reads -1 as no quota, even without a period file', () => {
      expect(parseCfsQuota('-1\n', null)).to.deep.equal({ ok: true, value: null });
    });
    it('fails on garbage quota, zero, or a set quota with a missing or bad period', () => {
      expect(parseCfsQuota('abc', '100000').ok).to.equal(false);
      expect(parseCfsQuota('0', '100000').ok).to.equal(false);
      expect(parseCfsQuota('100000', null).ok).to.equal(false);
      expect(parseCfsQuota('100000', '0').ok).to.equal(false);
      expect(parseCfsQuota('100000', '').ok).to.equal(false);
    });
  });

  describe('memory limits', () => {
    it('v2 memory.max: bytes or max', () => {
      expect(parseMemoryMax('1073741824\n')).to.deep.equal({ ok: true, value: 1073741824 });
      expect(parseMemoryMax('max\n')).to.deep.equal({ ok: true, value: null });
    });
    it('v1 memory.limit_in_bytes: the huge page-rounded LONG_MAX means none', () => {
      expect(parseMemoryLimitInBytes('9223372036854771712\n')).to.deep.equal({ ok: true, value: null });
      expect(parseMemoryLimitInBytes('18446744073709551615')).to.deep.equal({ ok: true, value: null });
      expect(parseMemoryLimitInBytes('2147483648\n')).to.deep.equal({ ok: true, value: 2147483648 });
    });
    it('fails on empty, garbage and zero', () => {
      for (const bad of ['', '\n', '12abc', '-5', '1.5G', '0']) {
        expect(parseMemoryMax(bad).ok, bad).to.equal(false);
        expect(parseMemoryLimitInBytes(bad).ok, bad).to.equal(false);
      }
    });
    it('v1 memory.stat hierarchical_memory_limit', () => {
      const stat = 'cache 0\nrss 4096\nhierarchical_memory_limit 536870912\nhierarchical_memsw_limit 1073741824\n';
      expect(parseV1HierarchicalMemoryLimit(stat)).to.deep.equal({ ok: true, value: 536870912 });
      expect(parseV1HierarchicalMemoryLimit('hierarchical_memory_limit 9223372036854771712\n')).to.deep.equal({ ok: true, value: null });
      expect(parseV1HierarchicalMemoryLimit('cache 0\n').ok).to.equal(false);
    });
  });
});
