/**
 * Detection against the real Docker engine: the detector runs inside cgroup-limited containers
 * (`--cpus`, `--memory`, `--cpuset-cpus`, a limited parent cgroup) and must report the limits,
 * not the host. It also reads the engine itself, the Compose CLI and a port a container publishes.
 *
 * The detector runs from this repository, bind-mounted read-only, with the container's node and
 * the repository's node_modules (`node --import tsx`), in the stand-in image built by
 * `bash test/images/build-standins.sh` (no registry is reachable here).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, rmdir, symlink, writeFile, access } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { DockerFact, HostFacts } from '../../../installer/detect/host-facts.js';
import type { Plan } from '../../../installer/plan/plan.types.js';
import { detectDocker, dockerClient } from '../../../installer/detect/docker.detect.js';
import { detectCompose } from '../../../installer/detect/compose.detect.js';
import { detectPorts } from '../../../installer/detect/ports.detect.js';
import { detectDisk } from '../../../installer/detect/disk.detect.js';
import { detectResources } from '../../../installer/detect/resources.detect.js';
import { findCgroupMounts, parseMountinfo } from '../../../installer/detect/mountinfo.parse.js';

const IMAGE = 'carebox-standin/node:20';
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs a command; resolves with stdout, rejects with stderr in the message. */
function run(file: string, args: string[], timeoutMs = 90000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(String(stdout));
    });
  });
}

/** Runs the detector in a fresh container with the given `docker run` flags and returns its HostFacts. */
async function detectInContainer(flags: string[]): Promise<HostFacts> {
  const out = await run('docker', [
    'run',
    '--rm',
    '--network',
    'none',
    ...flags,
    '-v',
    `${repo}:/repo:ro`,
    '-w',
    '/repo',
    IMAGE,
    'node',
    '--import',
    'tsx',
    'test/integration/detect/print-host-facts.ts',
  ]);
  return JSON.parse(out) as HostFacts;
}

/**
 * Skips with the reason in the report, since mocha's skip() takes no message: in a test the
 * reason goes into the test's title; from a `before` hook (whose suite title is already printed)
 * it is printed under the suite, and every test of the suite is marked pending.
 */
function skipBecause(ctx: Mocha.Context, reason: string): never {
  const runnable = ctx.test;
  if ((runnable as { type?: string } | undefined)?.type === 'hook') console.log(`    skipped: ${reason}`);
  else if (runnable) runnable.title += ` (skipped: ${reason})`;
  ctx.skip();
}

describe('detect inside cgroup-limited containers on the real Docker engine', function () {
  this.timeout(120000);
  let engine: DockerFact;
  let host: Awaited<ReturnType<typeof detectResources>>;

  before(async function () {
    engine = await detectDocker();
    if (!engine.reachable) skipBecause(this, `no Docker engine reachable: ${engine.error}`);
    // An engine without the stand-in image is a setup error, not a reason to skip.
    await run('docker', ['image', 'inspect', IMAGE]).catch(() => {
      throw new Error(`image ${IMAGE} is missing: build it with \`bash test/images/build-standins.sh\``);
    });
    host = await detectResources();
  });

  it('--cpus=1 --memory=1g: reports 1 CPU and 1 GiB while the host has more', async () => {
    const f = await detectInContainer(['--cpus=1', '--memory=1g']);
    expect(f.cpus.value).to.equal(1);
    expect(f.memoryBytes.value).to.equal(GiB);
    expect(f.cpus.source).to.match(/^cgroup v[12] (cpu\.max|cpu\.cfs_quota_us\/cpu\.cfs_period_us) in \/sys\/fs\/cgroup/);
    expect(f.memoryBytes.source).to.match(/^cgroup v[12] memory\.(max|limit_in_bytes) in \/sys\/fs\/cgroup/);
    // The host figures inside the container are the machine's, and larger than the limits.
    expect(f.hostCpus.value).to.equal(host.hostCpus.value);
    expect(f.hostMemoryBytes.value).to.equal(host.hostMemoryBytes.value);
    expect(f.hostMemoryBytes.value, 'this machine has more than 1 GiB').to.be.above(GiB);
    if (host.hostCpus.value > 1) expect(f.hostCpus.value).to.be.above(f.cpus.value);
    expect(f.cgroupVersion.value).to.equal(engine.cgroupVersion);
  });

  it('`carebox plan --json` itself, run in --cpus=1 --memory=1g, plans the default tier for 1 CPU and 1 GiB and shows the host figures', async () => {
    // The built CLI, as an operator would run it inside a limited container (issue 3, "Done when").
    await access(join(repo, 'dist/console/cli.js')).catch(() => {
      throw new Error('dist/ is missing: run `npm run build` first');
    });
    const out = await run('docker', [
      'run',
      '--rm',
      '--network',
      'none',
      '--cpus=1',
      '--memory=1g',
      '-v',
      `${repo}:/repo:ro`,
      '-w',
      '/repo',
      IMAGE,
      'node',
      'dist/console/cli.js',
      'plan',
      '--json',
      '--dir',
      '/tmp/carebox-no-install',
    ]);
    const plan = JSON.parse(out) as Plan;
    expect(plan.host.cpus).to.equal(1);
    expect(plan.host.memoryBytes).to.equal(GiB);
    expect(plan.host.cpusSource).to.match(/^cgroup v[12] /);
    expect(plan.host.memorySource).to.match(/^cgroup v[12] /);
    expect(plan.host.hostCpus).to.equal(host.hostCpus.value);
    expect(plan.host.hostMemoryBytes).to.equal(host.hostMemoryBytes.value);
    if (host.hostCpus.value > 1) expect(plan.host.hostCpus).to.be.above(1);
    expect(plan.tier).to.equal('default');
    // Sized from the limits, not the host: one web worker, one nginx worker, budgets within 1 GiB.
    expect(plan.sizing.backend.replicas * plan.sizing.backend.workers).to.equal(1);
    expect(plan.sizing.nginx.workerProcesses).to.equal(1);
    for (const [name, b] of Object.entries(plan.budget)) {
      if (b) expect(b.demand, name).to.be.at.most(b.limit);
    }
    expect(plan.budget.memoryBytes.limit).to.be.below(GiB);
  });

  it("host mode (the release CLI's container, cli/carebox.sh): in --cpus=1 --memory=1g with the host's /proc and /sys under /host, it reports the host's usable figures, not the container's", async () => {
    // As the launcher runs the CLI: the host's /proc and /sys read-only under /host, and the pid
    // whose cgroup is sized (the launcher's; here this test process, so the answers must agree).
    const f = await detectInContainer([
      '--cpus=1',
      '--memory=1g',
      '-v',
      '/proc:/host/proc:ro',
      '-v',
      '/sys:/host/sys:ro',
      '-e',
      'CAREBOX_HOST_ROOT=/host',
      '-e',
      `CAREBOX_HOST_PID=${process.pid}`,
    ]);
    expect(f.cpus.value).to.equal(host.cpus.value);
    expect(f.memoryBytes.value).to.equal(host.memoryBytes.value);
    expect(f.hostCpus.value).to.equal(host.hostCpus.value);
    expect(f.hostMemoryBytes.value).to.equal(host.hostMemoryBytes.value);
    expect(f.cgroupVersion.value).to.equal(host.cgroupVersion.value);
    expect(f.memoryBytes.value, "this machine has more than the container's 1 GiB").to.be.above(GiB);
    expect(`${f.cpus.source} ${f.memoryBytes.source}`).to.not.match(/constrainedMemory|availableParallelism/);
  });

  it('--cpus=1.5: a fractional quota stays fractional', async function () {
    if (host.hostCpus.value < 2) skipBecause(this, 'this machine has 1 CPU; a 1.5 CPU quota would not bind');
    const f = await detectInContainer(['--cpus=1.5']);
    expect(f.cpus.value).to.equal(1.5);
    expect(f.memoryBytes.value).to.equal(host.hostMemoryBytes.value);
  });

  it('--cpuset-cpus=0: reports 1 CPU from the cpuset', async () => {
    const f = await detectInContainer(['--cpuset-cpus=0']);
    expect(f.cpus.value).to.equal(1);
    if (host.hostCpus.value > 1) expect(f.cpus.source).to.match(/cpuset|Cpus_allowed_list/);
  });

  it('--cgroupns=private --cpus=1 --memory=512m: same answer when the container sees its cgroup as /', async () => {
    const f = await detectInContainer(['--cgroupns=private', '--cpus=1', '--memory=512m']);
    expect(f.cpus.value).to.equal(1);
    expect(f.memoryBytes.value).to.equal(512 * MiB);
  });

  it('a memory limit on the parent cgroup (--cgroup-parent) binds the container', async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'needs root to create a parent cgroup with a limit');
    if (engine.cgroupDriver !== 'cgroupfs') skipBecause(this, `cgroup driver is ${engine.cgroupDriver}; this test builds cgroupfs paths`);
    const mounts = findCgroupMounts(parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8')));
    const parentName = `carebox-detect-test-${process.pid}`;
    // On cgroup v2 a private cgroup namespace hides ancestors, so the container is run in the host's.
    const v1 = engine.cgroupVersion === 1;
    const memMount = v1 ? mounts.v1.get('memory') : mounts.v2;
    if (!memMount || memMount.root !== '/') skipBecause(this, 'the memory hierarchy is not mounted at its root here');
    const parentDir = join(memMount.mountPoint, parentName);
    const limit = 768 * MiB;
    try {
      await mkdir(parentDir);
      await writeFile(join(parentDir, v1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limit));
      const f = await detectInContainer([`--cgroup-parent=/${parentName}`, ...(v1 ? [] : ['--cgroupns=host'])]);
      expect(f.memoryBytes.value).to.equal(limit);
      expect(f.memoryBytes.source).to.match(v1 ? /hierarchical_memory_limit/ : new RegExp(parentName));
    } finally {
      // Docker removes the container's own cgroups; remove the parents it and we created.
      const dirs = [...new Set([...mounts.v1.values(), ...(mounts.v2 ? [mounts.v2] : [])].map((m) => join(m.mountPoint, parentName)))];
      for (const d of dirs) await rmdir(d).catch(() => undefined);
    }
  });
});

describe('detect on this machine against the real Docker engine and Compose CLI', function () {
  this.timeout(60000);
  let engine: DockerFact;

  before(async function () {
    engine = await detectDocker();
    if (!engine.reachable) skipBecause(this, `no Docker engine reachable: ${engine.error}`);
  });

  it('reads engine and API versions, negotiated no higher than the engine, plus /info', async () => {
    expect(engine.engineVersion).to.match(/^\d+\.\d+/);
    expect(engine.apiVersion).to.match(/^1\.\d+$/);
    expect(engine.negotiatedApiVersion).to.be.a('string');
    const [, engMinor] = (engine.apiVersion ?? '').split('.');
    const [, negMinor] = (engine.negotiatedApiVersion ?? '').split('.');
    expect(Number(negMinor)).to.be.at.most(Number(engMinor));
    expect(engine.dataRoot).to.match(/^\//);
    expect(engine.cgroupDriver).to.be.oneOf(['cgroupfs', 'systemd']);
    expect(engine.cgroupVersion).to.be.oneOf([1, 2]);
    expect(engine.error).to.equal(null);
    // The client pinned to that version really works against the engine.
    const client = dockerClient(engine);
    expect(client).to.not.equal(null);
    expect(((await client?.version()) as { ApiVersion?: string } | undefined)?.ApiVersion).to.equal(engine.apiVersion);
    const disk = await detectDisk(engine.dataRoot ?? '/');
    expect(disk?.freeBytes).to.be.above(0);
  });

  it('finds the Compose v2 plugin, and the same binary run standalone as docker-compose is a v2 binary', async function () {
    const compose = await detectCompose();
    if (compose.flavour === null) skipBecause(this, `no Compose CLI on this machine: ${compose.error}`);
    expect(compose.version).to.match(/^\d+\.\d+\.\d+$/);
    if (compose.flavour !== 'v2-plugin') return;
    expect(compose.command).to.deep.equal(['docker', 'compose']);
    const pluginDirs = [
      '/usr/libexec/docker/cli-plugins',
      '/usr/local/lib/docker/cli-plugins',
      '/usr/lib/docker/cli-plugins',
      join(os.homedir(), '.docker/cli-plugins'),
    ];
    let plugin: string | null = null;
    for (const d of pluginDirs) {
      if (
        await access(join(d, 'docker-compose')).then(
          () => true,
          () => false,
        )
      ) {
        plugin = join(d, 'docker-compose');
        break;
      }
    }
    if (plugin === null) return;
    const bin = await mkdtemp(join(os.tmpdir(), 'carebox-compose-'));
    try {
      await symlink(plugin, join(bin, 'docker-compose'));
      const standalone = await detectCompose({ env: { PATH: bin, HOME: os.homedir() } });
      expect(standalone).to.deep.equal({ flavour: 'v2-binary', version: compose.version, command: ['docker-compose'], error: null });
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });

  it('names the Compose project of a container that publishes a wanted port', async () => {
    // A free port to publish: listen on 0, note the port, close.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const name = `carebox-detect-port-${process.pid}`;
    await run('docker', [
      'run',
      '-d',
      '--name',
      name,
      '--label',
      'com.docker.compose.project=carebox',
      '--label',
      'com.docker.compose.service=nginx',
      '-p',
      `127.0.0.1:${port}:8080`,
      IMAGE,
      'sleep',
      '120',
    ]);
    try {
      const docker = dockerClient(engine);
      const ours = await detectPorts([{ port, bindAddress: '127.0.0.1' }], { docker, composeProject: 'carebox' });
      expect(ours[0]).to.include({ port, free: false, heldBy: 'carebox' });
      expect(ours[0]?.source).to.contain('Docker published ports');
      const theirs = await detectPorts([{ port, bindAddress: '0.0.0.0' }], { docker, composeProject: 'other' });
      expect(theirs[0]).to.include({ free: false, heldBy: `container ${name} (Compose project carebox)` });
    } finally {
      await run('docker', ['rm', '-f', name]).catch(() => undefined);
    }
  });
});
