import { expect } from 'chai';
import { cgroupDirs, cgroupFiles, evaluateCgroupLimits, resolveCgroupLayout } from '../../../installer/detect/cgroup.resolve.js';

const V2_MOUNT = '26 22 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';

describe('detect/cgroup.resolve', () => {
  describe('cgroupDirs', () => {
    it('joins the process path onto a mount whose root is / and lists ancestors up to the mount point', () => {
      expect(cgroupDirs('/sys/fs/cgroup', '/', '/a/b')).to.deep.equal({
        dirs: ['/sys/fs/cgroup/a/b', '/sys/fs/cgroup/a', '/sys/fs/cgroup'],
        outside: false,
      });
    });
    it('strips the mount root (Docker on v1 without a cgroup namespace: root and path are both /docker/ID)', () => {
      expect(cgroupDirs('/sys/fs/cgroup/memory', '/docker/abc', '/docker/abc')).to.deep.equal({
        dirs: ['/sys/fs/cgroup/memory'],
        outside: false,
      });
      expect(cgroupDirs('/sys/fs/cgroup/memory', '/docker/abc', '/docker/abc/sub').dirs).to.deep.equal(['/sys/fs/cgroup/memory/sub', '/sys/fs/cgroup/memory']);
    });
    it('reads only the mount point for a path outside the mount root or with /.. segments', () => {
      expect(cgroupDirs('/sys/fs/cgroup', '/docker/abc', '/system.slice/other')).to.deep.equal({
        dirs: ['/sys/fs/cgroup'],
        outside: true,
      });
      expect(cgroupDirs('/sys/fs/cgroup', '/', '/../../init.scope')).to.deep.equal({ dirs: ['/sys/fs/cgroup'], outside: true });
    });
    it('does not confuse a sibling sharing a prefix (/docker/abc vs /docker/abcd)', () => {
      expect(cgroupDirs('/m', '/docker/abc', '/docker/abcd').outside).to.equal(true);
    });
  });

  describe('resolveCgroupLayout', () => {
    it('pure v2: every controller on the unified mount', () => {
      const l = resolveCgroupLayout('0::/x\n', V2_MOUNT);
      expect(l.mode).to.equal('v2');
      expect(l.guessed).to.equal(false);
      expect(l.cpu).to.deep.equal([{ version: 2, dirs: ['/sys/fs/cgroup/x', '/sys/fs/cgroup'] }]);
      expect(l.memory).to.deep.equal(l.cpu);
    });
    it('a named v1 hierarchy next to cgroup2 does not make a host hybrid', () => {
      const mi = `${V2_MOUNT}40 33 0:40 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n`;
      expect(resolveCgroupLayout('1:name=systemd:/\n0::/\n', mi).mode).to.equal('v2');
    });
    it('a controller missing from /proc/self/cgroup is read at its mount point', () => {
      const mi = '39 33 0:33 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n';
      const l = resolveCgroupLayout('4:cpu:/a\n', mi);
      expect(l.mode).to.equal('v1');
      expect(l.memory).to.deep.equal([{ version: 1, dirs: ['/sys/fs/cgroup/memory'] }]);
      expect(l.cpu).to.deep.equal([]);
    });
    it('notes a path outside the mount root', () => {
      const mi = '39 33 0:33 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n';
      const l = resolveCgroupLayout('4:memory:/elsewhere\n', mi);
      expect(l.notes).to.deep.equal(['cgroup v1 memory path /elsewhere is outside the mount root /docker/abc, read /sys/fs/cgroup/memory']);
    });
  });

  describe('evaluateCgroupLimits', () => {
    it('takes the minimum over levels and names the binding file', () => {
      const l = resolveCgroupLayout('0::/a/b\n', V2_MOUNT);
      const files = new Map([
        ['/sys/fs/cgroup/a/b/cpu.max', 'max 100000\n'],
        ['/sys/fs/cgroup/a/cpu.max', '300000 100000\n'],
        ['/sys/fs/cgroup/a/b/memory.max', '2147483648\n'],
        ['/sys/fs/cgroup/a/memory.max', '1073741824\n'],
      ]);
      const r = evaluateCgroupLimits(l, files);
      expect(r.cpuQuota.limit).to.deep.equal({ value: 3, source: 'cgroup v2 cpu.max in /sys/fs/cgroup/a' });
      expect(r.memory.limit).to.deep.equal({ value: 1073741824, source: 'cgroup v2 memory.max in /sys/fs/cgroup/a' });
      expect(r.version).to.equal(2);
    });
    it('lists every file it may read, so the reader can fetch them up front', () => {
      const l = resolveCgroupLayout('0::/a\n', V2_MOUNT);
      expect(cgroupFiles(l)).to.include.members([
        '/sys/fs/cgroup/a/cpu.max',
        '/sys/fs/cgroup/cpu.max',
        '/sys/fs/cgroup/a/memory.max',
        '/sys/fs/cgroup/a/cpuset.cpus.effective',
      ]);
    });
    it('v1: memory.stat hierarchical_memory_limit catches a limit on an ancestor the container cannot see', () => {
      const mi = '39 33 0:33 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n';
      const l = resolveCgroupLayout('4:memory:/docker/abc\n', mi);
      const r = evaluateCgroupLimits(
        l,
        new Map([
          ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '9223372036854771712\n'],
          ['/sys/fs/cgroup/memory/memory.stat', 'cache 0\nhierarchical_memory_limit 805306368\n'],
        ]),
      );
      expect(r.memory.limit).to.deep.equal({
        value: 805306368,
        source: 'cgroup v1 memory.stat hierarchical_memory_limit in /sys/fs/cgroup/memory',
      });
    });
    it('v2 memory.swap.max of 0 means no swap', () => {
      const l = resolveCgroupLayout('0::/\n', V2_MOUNT);
      const r = evaluateCgroupLimits(l, new Map([['/sys/fs/cgroup/memory.swap.max', '0\n']]));
      expect(r.swap.limit?.value).to.equal(0);
    });
    it('an empty cpuset at the leaf falls through to the parent', () => {
      const mi = '40 33 0:34 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n';
      const l = resolveCgroupLayout('3:cpuset:/a\n', mi);
      const r = evaluateCgroupLimits(
        l,
        new Map([
          ['/sys/fs/cgroup/cpuset/a/cpuset.cpus', '\n'],
          ['/sys/fs/cgroup/cpuset/cpuset.cpus', '0-5\n'],
        ]),
      );
      expect(r.cpuset.limit).to.deep.equal({ value: 6, source: 'cgroup v1 cpuset.cpus in /sys/fs/cgroup/cpuset' });
    });
  });
});
