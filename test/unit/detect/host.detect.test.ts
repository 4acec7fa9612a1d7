import { expect } from 'chai';
import { UsageError } from '../../../installer/errors.js';
import { detectHost } from '../../../installer/detect/host.detect.js';
import { hypotheticalHost, HYPOTHETICAL_SOURCE } from '../../../installer/plan/hypothetical.host.js';
import { cgroupFixture, GiB } from './fixtures.js';

describe('detect/host.detect', () => {
  describe('hypotheticalHost', () => {
    it('builds a PlanHost from --cpus/--memory with that source on every figure', () => {
      expect(hypotheticalHost(4, 8 * GiB)).to.deep.equal({
        cpus: { value: 4, source: HYPOTHETICAL_SOURCE },
        hostCpus: { value: 4, source: HYPOTHETICAL_SOURCE },
        memoryBytes: { value: 8 * GiB, source: HYPOTHETICAL_SOURCE },
        hostMemoryBytes: { value: 8 * GiB, source: HYPOTHETICAL_SOURCE },
      });
      expect(HYPOTHETICAL_SOURCE).to.equal('--cpus/--memory flags');
    });
    it('keeps fractional CPUs, also below 1 (the planner refuses those); the host figure rounds up', () => {
      expect(hypotheticalHost(1.5, GiB).cpus.value).to.equal(1.5);
      expect(hypotheticalHost(1.5, GiB).hostCpus.value).to.equal(2);
      expect(hypotheticalHost(0.5, GiB).cpus.value).to.equal(0.5);
      expect(hypotheticalHost(0.5, GiB).hostCpus.value).to.equal(1);
    });
    it('rejects non-positive or non-finite figures with a UsageError', () => {
      for (const [c, m] of [
        [0, GiB],
        [-1, GiB],
        [Number.NaN, GiB],
        [2, 0],
        [2, Infinity],
      ] as [number, number][]) {
        expect(() => hypotheticalHost(c, m), `${c} ${m}`).to.throw(UsageError);
      }
    });
  });

  describe('detectHost', () => {
    it('reads /proc and /sys under fsRoot and the rest from this machine, within a few seconds', async () => {
      const t = Date.now();
      const f = await detectHost({
        installRoot: '/nonexistent/carebox',
        ports: [{ port: 1, bindAddress: '192.0.2.1' }],
        fsRoot: cgroupFixture('v2-limited'),
        env: { PATH: process.env.PATH ?? '', DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
      });
      expect(Date.now() - t).to.be.below(8000);
      expect(f.cpus.value).to.equal(1.5);
      expect(f.memoryBytes.value).to.equal(GiB);
      expect(f.cgroupVersion.value).to.equal(2);
      expect(f.disk.installRoot?.measuredPath).to.equal('/');
      expect(f.disk.dockerRoot).to.equal(null);
      expect(f.docker.reachable).to.equal(false);
      expect(f.docker.error).to.contain('no Docker socket at /nonexistent/docker.sock');
      expect(f.ports).to.have.length(1);
      expect(f.ports[0]?.free).to.equal(false);
      expect(f.os.platform).to.equal(process.platform);
      expect(Date.parse(f.detectedAt)).to.not.be.NaN;
      expect(f.notes).to.be.an('array');
      // The whole document is plain JSON (it is stored in carebox.json).
      expect(JSON.parse(JSON.stringify(f))).to.deep.equal(f);
    });
  });
});
