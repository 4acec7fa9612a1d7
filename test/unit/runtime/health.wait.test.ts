import { expect } from 'chai';
import type Docker from 'dockerode';
import {
  CRASH_LOOP_RESTARTS,
  crashLoopReason,
  factsReady,
  healthFacts,
  notReadyState,
  summarize,
  type ContainerHealthFacts,
} from '../../../installer/runtime/health.wait.js';
import type { StackContainer } from '../../../installer/runtime/stack.containers.js';

const facts = (over: Partial<ContainerHealthFacts> = {}): ContainerHealthFacts => ({
  running: true,
  restarting: false,
  exitCode: 0,
  restartCount: 0,
  restartPolicy: 'unless-stopped',
  ...over,
});

describe('health wait: readiness and crash loops (shared by install and the console)', () => {
  it('reads the facts from docker inspect, including a container without a healthcheck', () => {
    const info = {
      State: { Running: true, Restarting: false, ExitCode: 0, Health: { Status: 'starting' } },
      RestartCount: 2,
      HostConfig: { RestartPolicy: { Name: 'unless-stopped' } },
    } as unknown as Docker.ContainerInspectInfo;
    expect(healthFacts(info)).to.deep.equal({
      running: true,
      restarting: false,
      exitCode: 0,
      health: 'starting',
      restartCount: 2,
      restartPolicy: 'unless-stopped',
    });
    const bare = {
      State: { Running: false, Restarting: false, ExitCode: 1 },
      RestartCount: 0,
      HostConfig: { RestartPolicy: { Name: '' } },
    } as unknown as Docker.ContainerInspectInfo;
    expect(healthFacts(bare)).to.deep.equal({ running: false, restarting: false, exitCode: 1, restartCount: 0, restartPolicy: 'no' });
  });

  it('is ready only when running, between no restarts, and healthy if it has a healthcheck', () => {
    expect(factsReady(facts())).to.equal(true);
    expect(factsReady(facts({ health: 'healthy' }))).to.equal(true);
    expect(factsReady(facts({ health: 'starting' }))).to.equal(false);
    expect(factsReady(facts({ restarting: true }))).to.equal(false);
    expect(factsReady(facts({ running: false }))).to.equal(false);
    expect(notReadyState(facts({ running: false, exitCode: 137 }))).to.equal('exited (137)');
    expect(notReadyState(facts({ restarting: true }))).to.equal('restarting');
    expect(notReadyState(facts({ health: 'unhealthy' }))).to.equal('unhealthy');
  });

  it(`calls ${CRASH_LOOP_RESTARTS} restarts since the wait began a crash loop, counting from the restarts seen first`, () => {
    expect(crashLoopReason(facts({ restartCount: 5 }), 5)).to.equal(null);
    expect(crashLoopReason(facts({ restartCount: 5 + CRASH_LOOP_RESTARTS - 1, restarting: true }), 5)).to.equal(null);
    expect(crashLoopReason(facts({ restartCount: 5 + CRASH_LOOP_RESTARTS, restarting: true, exitCode: 1 }), 5)).to.match(
      /restarted 3 times while starting \(last exit code 1\)/,
    );
    expect(crashLoopReason(facts({ restartCount: 3, restarting: true, exitCode: 0 }), 0)).to.equal('restarted 3 times while starting');
  });

  it('gives up on a container that exited and that no restart policy brings back, and keeps waiting for one that will restart', () => {
    expect(crashLoopReason(facts({ running: false, exitCode: 2, restartPolicy: 'no' }), 0)).to.match(/exited \(2\) and is not restarted/);
    expect(crashLoopReason(facts({ running: false, exitCode: 2, restartPolicy: 'unless-stopped' }), 0)).to.equal(null);
  });

  it('summarizes each service against its expected replicas', () => {
    const c = (service: string, number: number, state: string, health: string): StackContainer =>
      ({ id: `${service}${number}`, service, number, state, health, status: state }) as StackContainer;
    const r = summarize([c('backend', 1, 'running', 'healthy'), c('backend', 2, 'restarting', 'none'), c('db', 1, 'running', 'healthy')], {
      backend: 2,
      db: 1,
    });
    expect(r.ready).to.equal(false);
    expect(r.lines).to.deep.equal(['backend 1/2 ready (#2 restarting)', 'db 1/1 ready']);
  });
});
