/**
 * The health wait that install (and, through the same facts, every console operation) uses, against
 * the real Docker engine: a container that dies at start and is restarted by its policy must end
 * the wait in seconds with the cause and its log, not after the whole timeout. A healthy container
 * ends it as soon as it runs. Containers carry a Compose project label of this test's own.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type Docker from 'dockerode';
import { connectDocker } from '../../../installer/runtime/docker.connect.js';
import { waitHealthy } from '../../../installer/runtime/health.wait.js';
import { LABEL_NUMBER, LABEL_PROJECT, LABEL_SERVICE } from '../../../installer/runtime/stack.containers.js';
import { UnhealthyError } from '../../../installer/errors.js';

const IMAGE = 'carebox-standin/node:20';

describe('health wait against the real engine', function () {
  this.timeout(120_000);
  let docker: Docker;
  const project = `carebox-hw-${randomBytes(3).toString('hex')}`;

  // Every service of a stack has a healthcheck; so do these (a process that dies at start is never healthy).
  const start = async (service: string, cmd: string[]): Promise<void> => {
    const c = await docker.createContainer({
      Image: IMAGE,
      Cmd: cmd,
      Healthcheck: { Test: ['CMD', 'true'], Interval: 500_000_000, StartPeriod: 0, Retries: 1 },
      Labels: { [LABEL_PROJECT]: project, [LABEL_SERVICE]: service, [LABEL_NUMBER]: '1' },
      HostConfig: { RestartPolicy: { Name: 'unless-stopped' }, NetworkMode: 'none' },
    });
    await c.start();
  };

  before(async function () {
    docker = (await connectDocker()).docker;
    try {
      await docker.getImage(IMAGE).inspect();
    } catch {
      throw new Error(`${IMAGE} is missing: run bash test/images/build-standins.sh`);
    }
  });

  after(async () => {
    const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_PROJECT}=${project}`] } });
    for (const c of list)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
  });

  it('returns as soon as the container is healthy', async () => {
    await start('steady', ['sleep', '300']);
    const t0 = Date.now();
    const containers = await waitHealthy(docker, project, { steady: 1 }, { timeoutMs: 60_000, intervalMs: 250 });
    expect(containers.filter((c) => c.service === 'steady')).to.have.length(1);
    expect(Date.now() - t0).to.be.below(30_000);
  });

  it('gives up on a crash loop long before the timeout, naming the service, the exit code and its log', async () => {
    await start('crasher', ['sh', '-c', 'echo "config file missing: /etc/carebox-test.conf" >&2; exit 3']);
    const t0 = Date.now();
    let err: unknown = null;
    try {
      await waitHealthy(docker, project, { crasher: 1 }, { timeoutMs: 100_000, intervalMs: 250 });
    } catch (e) {
      err = e;
    }
    const took = Date.now() - t0;
    expect(err).to.be.instanceOf(UnhealthyError);
    const message = (err as Error).message;
    expect(message).to.match(/cannot become healthy: crasher #1 restarted \d+ times while starting( \(last exit code 3\))?/);
    expect(message).to.include('config file missing');
    // Docker's restart backoff (100 ms doubling) puts 3 restarts within a few seconds; the timeout was 100 s.
    expect(took).to.be.below(60_000);
  });
});
