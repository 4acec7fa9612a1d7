import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { detectResources, hostModeFromEnv, type ResourceFacts } from '../../../installer/detect/resources.detect.js';
import { cgroupFixture, GiB, MiB } from './fixtures.js';

/** A host pid for host mode (the launcher's, in production); the fixtures' proc/self moves there. */
const HOST_PID = '4242';

/**
 * Every case runs twice: as the process itself (`/proc/self` under the fixture root), and in host
 * mode, the way the containerised CLI reads the host (cli/carebox.sh mounts the host's /proc and
 * /sys under CAREBOX_HOST_ROOT and passes its own pid as CAREBOX_HOST_PID): the same tree with
 * `proc/self` at `proc/4242`. Host-mode sources name `/proc/4242/…`; they are compared as
 * `/proc/self/…` so one set of expectations holds for both.
 */
const MODES: { title: string; detect: (fixture?: string) => Promise<ResourceFacts> }[] = [
  { title: 'as the process itself', detect: (fixture) => detectResources(fixture === undefined ? {} : { fsRoot: cgroupFixture(fixture) }) },
  {
    title: "host mode (CAREBOX_HOST_ROOT, the launcher's /proc/<pid>)",
    detect: async (fixture) => {
      if (fixture === undefined) {
        // On this machine: the host root is /, and the pid is this process's own.
        const mode = hostModeFromEnv({ CAREBOX_HOST_ROOT: '/', CAREBOX_HOST_PID: String(process.pid) })!;
        return detectResources({ fsRoot: mode.fsRoot, pid: mode.pid });
      }
      const root = mkdtempSync(join(os.tmpdir(), 'carebox-hostmode-'));
      try {
        cpSync(cgroupFixture(fixture), root, { recursive: true });
        if (existsSync(join(root, 'proc', 'self'))) renameSync(join(root, 'proc', 'self'), join(root, 'proc', HOST_PID));
        const mode = hostModeFromEnv({ CAREBOX_HOST_ROOT: root, CAREBOX_HOST_PID: HOST_PID })!;
        const r = await detectResources({ fsRoot: mode.fsRoot, pid: mode.pid });
        return JSON.parse(JSON.stringify(r).replaceAll(`/proc/${HOST_PID}/`, '/proc/self/')) as ResourceFacts;
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  },
];

describe('detect/resources.detect host mode from the environment', () => {
  it('is off without CAREBOX_HOST_ROOT; takes an absolute root and a pid (default self); rejects others', () => {
    expect(hostModeFromEnv({})).to.equal(null);
    expect(hostModeFromEnv({ CAREBOX_HOST_ROOT: '/host', CAREBOX_HOST_PID: '812' })).to.deep.equal({ fsRoot: '/host', pid: '812' });
    expect(hostModeFromEnv({ CAREBOX_HOST_ROOT: '/host' })).to.deep.equal({ fsRoot: '/host', pid: 'self' });
    expect(() => hostModeFromEnv({ CAREBOX_HOST_ROOT: 'host' })).to.throw(/absolute/);
    expect(() => hostModeFromEnv({ CAREBOX_HOST_ROOT: '/host', CAREBOX_HOST_PID: '../1' })).to.throw(/process id/);
  });
});

for (const { title, detect } of MODES) {
  /**
   * detectResources over fixture trees (real file formats, copied from real hosts and containers
   * and then varied): each tree is one layout a hospital host may present.
   */
  describe(`detect/resources.detect on fixture trees (${title})`, () => {
    it('cgroup v1 container with quota and memory limit: 2 CPUs of 8, 2 GiB of ~15.6 GiB', async () => {
      const r = await detect('v1-limited');
      expect(r.hostCpus).to.deep.equal({ value: 8, source: '/sys/devices/system/cpu/online' });
      expect(r.cpus.value).to.equal(2);
      expect(r.cpus.source).to.equal('cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us in /sys/fs/cgroup/cpu,cpuacct');
      expect(r.hostMemoryBytes).to.deep.equal({ value: 16384000 * 1024, source: '/proc/meminfo MemTotal' });
      expect(r.memoryBytes).to.deep.equal({ value: 2 * GiB, source: 'cgroup v1 memory.limit_in_bytes in /sys/fs/cgroup/memory' });
      // memsw 4 GiB − memory 2 GiB allows 2 GiB of swap; SwapTotal (2 GiB − 4 KiB) is smaller.
      expect(r.swapBytes).to.deep.equal({ value: 2097148 * 1024, source: '/proc/meminfo SwapTotal' });
      expect(r.cgroupVersion.value).to.equal(1);
      expect(r.notes).to.deep.equal([]);
    });

    it('cgroup v1 unlimited: host figures, and the source says no quota/limit was set', async () => {
      const r = await detect('v1-unlimited');
      expect(r.cpus.value).to.equal(4);
      expect(r.cpus.source).to.equal('/sys/devices/system/cpu/online; cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us: no quota');
      expect(r.memoryBytes.value).to.equal(8192000 * 1024);
      expect(r.memoryBytes.source).to.equal('/proc/meminfo MemTotal; cgroup v1 memory.limit_in_bytes: no limit');
      expect(r.swapBytes.value).to.equal(0);
      expect(r.cgroupVersion).to.deep.equal({ value: 1, source: '/proc/self/mountinfo (cgroup v1 controllers)' });
    });

    it('cgroup v2 with cpu.max quota and memory.max: 1.5 CPUs (not floored), 1 GiB, swap capped by memory.swap.max', async () => {
      const r = await detect('v2-limited');
      expect(r.hostCpus.value).to.equal(4);
      expect(r.cpus).to.deep.equal({ value: 1.5, source: 'cgroup v2 cpu.max in /sys/fs/cgroup' });
      expect(r.memoryBytes).to.deep.equal({ value: GiB, source: 'cgroup v2 memory.max in /sys/fs/cgroup' });
      expect(r.swapBytes).to.deep.equal({ value: 512 * MiB, source: 'cgroup v2 memory.swap.max in /sys/fs/cgroup' });
      expect(r.cgroupVersion).to.deep.equal({ value: 2, source: '/proc/self/mountinfo (cgroup2 unified hierarchy)' });
    });

    it('cgroup v2 unlimited ("max" at every level): host figures', async () => {
      const r = await detect('v2-unlimited');
      expect(r.cpus.value).to.equal(8);
      expect(r.cpus.source).to.equal('/sys/devices/system/cpu/online; cgroup v2 cpu.max: no quota');
      expect(r.memoryBytes.value).to.equal(32768000 * 1024);
      expect(r.memoryBytes.source).to.equal('/proc/meminfo MemTotal; cgroup v2 memory.max: no limit');
      expect(r.cgroupVersion.value).to.equal(2);
    });

    it('cgroup v2 nested: the tightest ancestor binds (2.5 CPUs, 3 GiB on the pod, not the leaf)', async () => {
      const r = await detect('v2-nested');
      expect(r.hostCpus.value).to.equal(16);
      expect(r.cpus).to.deep.equal({ value: 2.5, source: 'cgroup v2 cpu.max in /sys/fs/cgroup/kubepods.slice/kubepods-pod42.slice' });
      expect(r.memoryBytes).to.deep.equal({
        value: 3 * GiB,
        source: 'cgroup v2 memory.max in /sys/fs/cgroup/kubepods.slice/kubepods-pod42.slice',
      });
    });

    it('hybrid: v1 controllers govern, the process path is joined onto each mount, and a 0.5 CPU quota reports 0.5', async () => {
      const r = await detect('hybrid');
      expect(r.cgroupVersion.value).to.equal(1);
      expect(r.cgroupVersion.source).to.match(/hybrid/);
      expect(r.cpus.value).to.equal(0.5);
      expect(r.cpus.source).to.equal('cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us in /sys/fs/cgroup/cpu,cpuacct/system.slice/carebox.service');
      expect(r.memoryBytes).to.deep.equal({
        value: 3 * GiB,
        source: 'cgroup v1 memory.limit_in_bytes in /sys/fs/cgroup/memory/system.slice/carebox.service',
      });
      expect(r.swapBytes.value).to.equal(GiB);
    });

    it('restricted affinity mask: Cpus_allowed_list 0-1,4 gives 3 of 8 CPUs', async () => {
      const r = await detect('affinity');
      expect(r.hostCpus.value).to.equal(8);
      expect(r.cpus).to.deep.equal({ value: 3, source: '/proc/self/status Cpus_allowed_list' });
      expect(r.memoryBytes.value).to.equal(16384000 * 1024);
    });

    it('missing files: every figure falls back to systeminformation/os and says so', async () => {
      const r = await detect('missing');
      expect(r.hostCpus.value).to.equal(os.cpus().length);
      expect(r.hostCpus.source).to.match(/^systeminformation cpu\(\)\.cores \(\/sys\/devices\/system\/cpu\/online unusable\)/);
      expect(r.cpus.value).to.equal(r.hostCpus.value);
      expect(r.cpus.source).to.contain('no cgroup CPU quota file readable');
      expect(r.hostMemoryBytes.value).to.equal(os.totalmem());
      expect(r.hostMemoryBytes.source).to.match(/^systeminformation mem\(\)\.total/);
      expect(r.memoryBytes.source).to.contain('no cgroup memory limit file readable');
      expect(r.cgroupVersion.value).to.equal(null);
      expect(r.notes).to.include.members([
        '/proc/self/cgroup unreadable, assumed root of each hierarchy',
        '/proc/self/mountinfo unreadable, guessed /sys/fs/cgroup paths',
        '/sys/devices/system/cpu/online unreadable',
        '/proc/meminfo unreadable',
        '/proc/self/status unreadable',
      ]);
    });

    it('missing mountinfo: the conventional /sys/fs/cgroup paths are tried and a v2 limit is still found', async () => {
      const r = await detect('missing-mountinfo');
      expect(r.cpus).to.deep.equal({ value: 1, source: 'cgroup v2 cpu.max in /sys/fs/cgroup' });
      expect(r.memoryBytes).to.deep.equal({ value: 512 * MiB, source: 'cgroup v2 memory.max in /sys/fs/cgroup' });
      expect(r.cgroupVersion).to.deep.equal({ value: 2, source: 'cgroup v2 files under /sys/fs/cgroup (mountinfo unusable)' });
      expect(r.notes).to.include('/proc/self/mountinfo unreadable, guessed /sys/fs/cgroup paths');
    });

    it('malformed v2 files (garbage cpu.max, empty memory.max, bad cpuset and affinity): host figures, with the reasons', async () => {
      const r = await detect('malformed');
      expect(r.cpus.value).to.equal(4);
      expect(r.cpus.source).to.match(/^\/sys\/devices\/system\/cpu\/online; /);
      expect(r.cpus.source).to.contain("cgroup v2 cpu.max in /sys/fs/cgroup ignored: cpu.max is not '<quota|max> <period>': 'garbage'");
      expect(r.cpus.source).to.contain('cgroup v2 cpuset.cpus.effective in /sys/fs/cgroup ignored');
      expect(r.memoryBytes.value).to.equal(4096000 * 1024);
      expect(r.memoryBytes.source).to.contain('cgroup v2 memory.max in /sys/fs/cgroup ignored: memory.max is not a byte count: empty file');
      expect(r.notes.some((n) => n.startsWith('/proc/self/status ignored'))).to.equal(true);
      expect(r.notes.some((n) => n.startsWith('cgroup v2 cpu.max in /sys/fs/cgroup ignored'))).to.equal(true);
    });

    it('malformed v1 files (garbage quota, empty limit, binary memory.stat, reversed cpuset): host figures', async () => {
      const r = await detect('malformed-v1');
      expect(r.cgroupVersion.value).to.equal(1);
      expect(r.cpus.value).to.equal(4);
      expect(r.cpus.source).to.contain('cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us in /sys/fs/cgroup/cpu,cpuacct ignored');
      expect(r.cpus.source).to.contain("bad CPU range '7-3'");
      expect(r.memoryBytes.value).to.equal(4096000 * 1024);
      expect(r.memoryBytes.source).to.contain('cgroup v1 memory.limit_in_bytes in /sys/fs/cgroup/memory ignored');
      expect(r.memoryBytes.source).to.contain('memory.stat');
    });

    it('malformed /proc files: cgroup limits still bind, host figures fall back, nothing throws', async () => {
      const r = await detect('malformed-proc');
      expect(r.cpus.value).to.equal(1);
      expect(r.memoryBytes).to.deep.equal({ value: 256 * MiB, source: 'cgroup v2 memory.max in /sys/fs/cgroup' });
      expect(r.hostCpus.source).to.match(/^systeminformation cpu\(\)\.cores/);
      expect(r.hostMemoryBytes.source).to.match(/^systeminformation mem\(\)\.total/);
      expect(r.notes.join('\n')).to.contain('/proc/self/cgroup malformed');
      expect(r.notes.join('\n')).to.contain('/proc/self/mountinfo lists no cgroup mount');
      expect(r.notes.join('\n')).to.contain('/proc/meminfo ignored');
    });

    it('on this machine (fsRoot /), usable figures never exceed the host figures and are at least 1 CPU', async () => {
      const r = await detect();
      expect(r.cpus.value).to.be.greaterThan(0).and.at.most(r.hostCpus.value);
      expect(r.memoryBytes.value).to.be.above(0).and.at.most(r.hostMemoryBytes.value);
      expect(r.hostCpus.value).to.equal(os.cpus().length);
    });
  });
}
