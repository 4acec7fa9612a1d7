import { expect } from 'chai';
import fc from 'fast-check';
import { UsageError } from '../../../installer/errors.js';
import { countCpuList, parseCpuList, parseCpusAllowedList } from '../../../installer/detect/cpu.parse.js';
import { parseMeminfo } from '../../../installer/detect/meminfo.parse.js';
import { parseMountinfo } from '../../../installer/detect/mountinfo.parse.js';
import {
  parseCfsQuota,
  parseCpuMax,
  parseMemoryLimitInBytes,
  parseMemoryMax,
  parseProcCgroup,
  parseV1HierarchicalMemoryLimit,
} from '../../../installer/detect/cgroup.parse.js';
import { evaluateCgroupLimits, resolveCgroupLayout, cgroupFiles } from '../../../installer/detect/cgroup.resolve.js';
import { effectiveCpus, effectiveMemory } from '../../../installer/detect/effective.resolve.js';
import { parseSize, formatBytes } from '../../../installer/detect/size.js';

/** Text that looks like kernel files often enough to reach deep branches, plus arbitrary strings. */
const kernelish = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom('0', '1', '9', ' ', '-', ',', ':', '\n', 'max', 'k', 'B', '/', '.') }),
  fc.constantFrom('max', 'max 100000', '-1', '', '\n', '9223372036854771712', '0', '0-3', '150000 100000'),
  fc.bigInt({ min: -10n, max: 2n ** 64n }).map(String),
);

const parsers: [string, (s: string) => unknown][] = [
  ['parseCpuList', parseCpuList],
  ['countCpuList', countCpuList],
  ['parseCpusAllowedList', parseCpusAllowedList],
  ['parseMeminfo', parseMeminfo],
  ['parseMountinfo', parseMountinfo],
  ['parseProcCgroup', parseProcCgroup],
  ['parseCpuMax', parseCpuMax],
  ['parseCfsQuota', (s) => parseCfsQuota(s, s)],
  ['parseMemoryMax', parseMemoryMax],
  ['parseMemoryLimitInBytes', parseMemoryLimitInBytes],
  ['parseV1HierarchicalMemoryLimit', parseV1HierarchicalMemoryLimit],
];

describe('detect parsers: properties (fast-check)', () => {
  for (const [name, fn] of parsers) {
    it(`${name} never throws on arbitrary text`, () => {
      fc.assert(
        fc.property(kernelish, (s) => void fn(s)),
        { numRuns: 500 },
      );
    });
  }

  it('CPU limits parse to positive figures or null, never NaN', () => {
    fc.assert(
      fc.property(kernelish, kernelish, (a, b) => {
        for (const r of [parseCpuMax(a), parseCfsQuota(a, b)]) {
          if (r.ok && r.value !== null) expect(r.value).to.be.a('number').and.above(0);
        }
      }),
    );
  });

  it('memory limits parse to positive safe integers or null', () => {
    fc.assert(
      fc.property(kernelish, (s) => {
        for (const r of [parseMemoryMax(s), parseMemoryLimitInBytes(s)]) {
          if (r.ok && r.value !== null) expect(Number.isSafeInteger(r.value) && r.value > 0).to.equal(true);
        }
      }),
    );
  });

  it('a CPU list printed from a set of CPUs parses back to that set', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 40 }), (cpus) => {
        const sorted = [...cpus].sort((a, b) => a - b);
        // Print as the kernel does: runs collapse into ranges.
        const parts: string[] = [];
        for (let i = 0; i < sorted.length; ) {
          let j = i;
          while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j += 1;
          parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
          i = j + 1;
        }
        expect(parseCpuList(`${parts.join(',')}\n`)).to.deep.equal({ ok: true, value: sorted });
      }),
    );
  });

  /** A v2 or v1 cgroup file's content: valid limit, unlimited, or garbage. */
  const cpuMaxText = fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1000, max: 1_000_000 })).map(([q, p]) => `${q} ${p}\n`),
    fc.constant('max 100000\n'),
    kernelish,
  );
  const memText = fc.oneof(
    fc.integer({ min: 1, max: 2 ** 45 }).map((n) => `${n}\n`),
    fc.constantFrom('max\n', '9223372036854771712\n'),
    kernelish,
  );
  const level = fc.record({ cpu: fc.option(cpuMaxText), mem: fc.option(memText), cpuset: fc.option(kernelish) });

  it('whole pipeline (v2, random levels and contents): usable CPUs > 0 and ≤ host, memory ≤ MemTotal, no throw', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'kubepods', 'x y'), { maxLength: 4 }),
        fc.array(level, { minLength: 5, maxLength: 5 }),
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.option(fc.integer({ min: 1, max: 512 })),
        (segs, levels, online, memTotal, affinity) => {
          const path = `/${segs.join('/')}`;
          const layout = resolveCgroupLayout(`0::${path}\n`, '26 22 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
          const dirs = layout.cpu[0]?.dirs ?? [];
          const files = new Map<string, string>();
          dirs.forEach((d, i) => {
            const l = levels[i];
            if (l?.cpu != null) files.set(`${d}/cpu.max`, l.cpu);
            if (l?.mem != null) files.set(`${d}/memory.max`, l.mem);
            if (l?.cpuset != null) files.set(`${d}/cpuset.cpus.effective`, l.cpuset);
          });
          for (const f of files.keys()) expect(cgroupFiles(layout)).to.include(f);
          const limits = evaluateCgroupLimits(layout, files);
          const cpus = effectiveCpus({
            online: { value: online, source: 'online' },
            quota: limits.cpuQuota.limit,
            cpuset: limits.cpuset.limit,
            affinity: affinity === null ? null : { value: affinity, source: 'aff' },
          });
          const mem = effectiveMemory({ total: { value: memTotal, source: 'meminfo' }, cgroup: limits.memory.limit, constrained: null });
          expect(cpus.value).to.be.greaterThan(0).and.at.most(online);
          expect(cpus.source).to.be.a('string').and.not.equal('');
          expect(mem.value).to.be.above(0).and.at.most(memTotal);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('whole pipeline (v1 container): usable CPUs > 0, memory ≤ MemTotal, no throw', () => {
    const mountinfo =
      '623 621 0:32 /docker/id /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n' +
      '624 621 0:33 /docker/id /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n';
    fc.assert(
      fc.property(
        kernelish,
        kernelish,
        kernelish,
        kernelish,
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        (quota, period, limit, stat, online, memTotal) => {
          const layout = resolveCgroupLayout('4:cpu,cpuacct:/docker/id\n3:memory:/docker/id\n', mountinfo);
          const files = new Map([
            ['/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us', quota],
            ['/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us', period],
            ['/sys/fs/cgroup/memory/memory.limit_in_bytes', limit],
            ['/sys/fs/cgroup/memory/memory.stat', `hierarchical_memory_limit ${stat}\n`],
          ]);
          const limits = evaluateCgroupLimits(layout, files);
          const cpus = effectiveCpus({ online: { value: online, source: 'o' }, quota: limits.cpuQuota.limit, cpuset: null, affinity: null });
          const mem = effectiveMemory({ total: { value: memTotal, source: 'm' }, cgroup: limits.memory.limit, constrained: null });
          expect(cpus.value).to.be.greaterThan(0).and.at.most(online);
          expect(mem.value).to.be.at.most(memTotal);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('effective figures: CPUs > 0 and memory ≤ MemTotal for any candidate values', () => {
    const fact = (arb: fc.Arbitrary<number>) => fc.option(arb.map((value) => ({ value, source: 's' })));
    const anyNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -1, Number.NaN, Infinity));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 512 }), fact(anyNumber), fact(anyNumber), fact(anyNumber), (online, q, s, a) => {
        const c = effectiveCpus({ online: { value: online, source: 'o' }, quota: q, cpuset: s, affinity: a });
        expect(c.value).to.be.greaterThan(0).and.at.most(online);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fact(anyNumber), fact(anyNumber), (total, cg, pc) => {
        const m = effectiveMemory({ total: { value: total, source: 't' }, cgroup: cg, constrained: pc });
        expect(m.value).to.be.above(0).and.at.most(total);
      }),
    );
  });

  it('parseSize: only ever throws UsageError, and whole binary units are exact', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          const n = parseSize(s);
          expect(Number.isSafeInteger(n) && n >= 0).to.equal(true);
        } catch (err) {
          expect(err).to.be.instanceOf(UsageError);
        }
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4096 }), fc.constantFrom(['k', 1], ['M', 2], ['GiB', 3], ['gb', 3], ['T', 4]), (n, [u, e]) => {
        expect(parseSize(`${n}${u}`)).to.equal(n * 1024 ** (e as number));
      }),
    );
  });

  // Two decimals of a figure in [1, 1024) are off by at most 0.005/1 = 0.5%, and parseSize floors
  // to whole bytes (at most 1 byte in 1024, 0.1% more).
  it('formatBytes parses back within rounding (< 0.6% off)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1024, max: 2 ** 50 }), (n) => {
        const back = parseSize(formatBytes(n));
        expect(Math.abs(back - n) / n).to.be.below(0.006);
      }),
    );
  });
});
