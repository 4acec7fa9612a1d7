import { expect } from 'chai';
import { findCgroupMounts, parseMountinfo, unescapeMountPath } from '../../../installer/detect/mountinfo.parse.js';

const HYBRID = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
33 25 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
34 33 0:28 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
35 33 0:29 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
38 33 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
39 33 0:33 /docker/abc /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 master:3 - cgroup cgroup rw,memory
`;

describe('detect/mountinfo.parse', () => {
  it('parses fields around optional fields and the " - " separator', () => {
    const e = parseMountinfo(HYBRID);
    expect(e).to.have.length(6);
    expect(e[5]).to.deep.equal({
      mountId: 39,
      parentId: 33,
      root: '/docker/abc',
      mountPoint: '/sys/fs/cgroup/memory',
      fsType: 'cgroup',
      source: 'cgroup',
      superOptions: ['rw', 'memory'],
    });
  });
  it('decodes octal escapes in paths', () => {
    expect(unescapeMountPath('/mnt/my\\040disk\\134x')).to.equal('/mnt/my disk\\x');
    const [e] = parseMountinfo('40 1 8:1 / /mnt/my\\040disk rw - ext4 /dev/sda1 rw\n');
    expect(e?.mountPoint).to.equal('/mnt/my disk');
  });
  it('skips malformed lines and returns [] for garbage', () => {
    expect(parseMountinfo('not a mountinfo line\n\n')).to.deep.equal([]);
    expect(parseMountinfo('')).to.deep.equal([]);
    expect(parseMountinfo(`garbage\n${HYBRID}`)).to.have.length(6);
  });
  it('finds the cgroup2 mount and the v1 mount of each controller', () => {
    const m = findCgroupMounts(parseMountinfo(HYBRID));
    expect(m.v2?.mountPoint).to.equal('/sys/fs/cgroup/unified');
    expect(m.v1.get('cpu')?.mountPoint).to.equal('/sys/fs/cgroup/cpu,cpuacct');
    expect(m.v1.get('cpuacct')?.mountPoint).to.equal('/sys/fs/cgroup/cpu,cpuacct');
    expect(m.v1.get('memory')?.root).to.equal('/docker/abc');
    expect(m.v1.get('name=systemd')?.mountPoint).to.equal('/sys/fs/cgroup/systemd');
    expect(m.v1.has('rw')).to.equal(false);
    expect(m.v1.has('xattr')).to.equal(false);
  });
  it('prefers the mount under /sys/fs/cgroup when a hierarchy is mounted twice', () => {
    const text = `50 1 0:40 / /host/cgroup rw - cgroup2 cgroup2 rw\n51 1 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n`;
    expect(findCgroupMounts(parseMountinfo(text)).v2?.mountPoint).to.equal('/sys/fs/cgroup');
  });
});
