/**
 * The installed-stack part of `npm run bench` (issue 12): a Carebox stack installed by the CLI
 * under test (containers, the stand-in images, the rendered nginx.conf and compose.yml), measured
 * three ways: straight to a backend container's address, through nginx's container address (how a
 * client on the hospital network reaches the edge, without Docker's loopback proxy), and through
 * the published port on 127.0.0.1 (docker-proxy). CPU time per request is read per process group:
 * each container's cgroup (cpuacct.usage: every process of it, exited ones included), this
 * stack's containerd shims, and the host's dockerd, containerd and docker-proxy processes
 * (/proc/PID/stat; dockerd and containerd are shared with anything else on the engine).
 *
 * Traffic goes only to loopback and to the addresses of the containers this module installed.
 * The stack is removed at the end (`uninstall --purge`), whatever happened.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticMrn } from '../console/ops/loadtest.mix.js';
import { cpuMicros, freePort, runToEnd } from './bench.setup.js';

/** Where one installed stack answers, and what to account CPU to. */
export interface InstalledStack {
  root: string;
  project: string;
  /** `http://<backend container IP>:3000` (the first backend replica). */
  backendUrl: string;
  /** `http://<nginx container IP>:8080`. */
  edgeUrl: string;
  /** `http://127.0.0.1:<published port>`. */
  publishedUrl: string;
  /** Container addresses the load generator may target (this stack's own). */
  addresses: string[];
  /** Container id per Compose service (first replica for scaled ones: all are accounted). */
  containers: Array<{ service: string; id: string; pid: number }>;
  /** Bearer token of the install's admin (password changed). */
  token: string;
  /** Patient ids read cache-hot. */
  hotPatientIds: string[];
  /** Image references the stack runs. */
  images: Record<string, string>;
}

/** Process groups whose CPU a stack row accounts, µs so far. */
export type StackCpu = Record<'backend' | 'nginx' | 'postgres' | 'redis' | 'worker' | 'shims' | 'dockerd' | 'containerd' | 'dockerProxy' | 'loadgen', number>;

const run = (argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Pids of host processes whose command name (/proc/PID/comm) is `name`. */
export function pidsByComm(name: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === name) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Parent pid of `pid` (/proc/PID/stat field 4), or null. */
function parentPid(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * CPU used so far by a container's cgroup, µs: cgroup v1 `cpuacct.usage` (ns; cgroupfs driver) or
 * cgroup v2 `cpu.stat` usage_usec. Counts every process the container ran, exited ones too.
 * @throws Error when neither file exists (another cgroup layout).
 */
export function containerCpuMicros(id: string): number {
  for (const p of [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`]) {
    if (existsSync(p)) return Number(readFileSync(p, 'utf8').trim()) / 1000;
  }
  for (const p of [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${id}/cpu.stat`]) {
    if (existsSync(p)) return Number(/^usage_usec (\d+)/m.exec(readFileSync(p, 'utf8'))?.[1] ?? NaN);
  }
  throw new Error(`no cgroup CPU accounting found for container ${id.slice(0, 12)}`);
}

/** CPU µs of every accounted group of `stack` right now, and of this process. */
export function stackCpuSnapshot(stack: InstalledStack): StackCpu {
  const byService = (svc: string) => stack.containers.filter((c) => c.service === svc).reduce((s, c) => s + containerCpuMicros(c.id), 0);
  const shims = stack.containers.map((c) => parentPid(c.pid)).filter((p): p is number => p !== null);
  const self = process.cpuUsage();
  return {
    backend: byService('backend'),
    nginx: byService('nginx'),
    postgres: byService('db'),
    redis: byService('redis'),
    worker: byService('worker'),
    shims: cpuMicros(shims),
    dockerd: cpuMicros(pidsByComm('dockerd')),
    containerd: cpuMicros(pidsByComm('containerd')),
    dockerProxy: cpuMicros(pidsByComm('docker-proxy')),
    loadgen: self.user + self.system,
  };
}

async function api(base: string, path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<any> {
  const r = await fetch(`${base}/api/v1${path}`, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${path}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Installs a stack with `cli` (`install --yes --json --bind 127.0.0.1`, a free port, `imagesFile`),
 * adds synthetic data (`demo-data --patients N`), signs the admin in, and finds the addresses.
 * @param cli path of dist/console/cli.js of the build under test.
 * @throws Error with the CLI's stderr when a step fails (the stack is removed first).
 */
export async function installBenchStack(cli: string, imagesFile: string, patients: number, log: (s: string) => void): Promise<InstalledStack> {
  const base = await mkdtemp(join(tmpdir(), 'carebox-bench-stack-'));
  const root = join(base, 'root');
  const port = await freePort();
  const carebox = (args: string[]) => runToEnd([process.execPath, cli, ...args, '--dir', root], { ...process.env, NO_COLOR: '1' });
  log(`bench: installing a stack with ${cli} in ${root} (port ${port})`);
  try {
    const installed = JSON.parse(await carebox(['install', '--yes', '--json', '--bind', '127.0.0.1', '--http-port', String(port), '--images', imagesFile]));
    log(`bench: stack ${installed.project} up; demo-data --patients ${patients}`);
    await carebox(['demo-data', '--json', '--patients', String(patients)]);
    const published = `http://127.0.0.1:${port}`;
    const admin = installed.admin as { username: string; oneTimePassword: string | null };
    if (!admin?.oneTimePassword) throw new Error('the install created no admin with a one-time password');
    const first = (await api(published, '/auth/login', { method: 'POST', body: { username: admin.username, password: admin.oneTimePassword } }))
      .token as string;
    const password = `bench-${Date.now()}-ward`;
    await api(published, '/auth/change-password', { method: 'POST', body: { currentPassword: admin.oneTimePassword, newPassword: password }, token: first });
    const token = (await api(published, '/auth/login', { method: 'POST', body: { username: admin.username, password } })).token as string;
    // demo-data's MRNs are DEMO-0000001…; search finds them by exact MRN.
    const hot: string[] = [];
    for (let i = 1; i <= Math.min(50, patients); i += 1) {
      const page = await api(published, `/patients?q=${syntheticMrn('DEMO-', i)}`, { token });
      if (page.items[0]) hot.push(page.items[0].id as string);
    }
    if (hot.length === 0) throw new Error('demo-data created no patients to read');

    const ids = run(['docker', 'ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${installed.project}`])
      .trim()
      .split('\n')
      .filter(Boolean);
    const inspected = JSON.parse(run(['docker', 'inspect', ...ids])) as Array<{
      Id: string;
      State: { Pid: number };
      Config: { Labels: Record<string, string>; Image: string };
      NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
    }>;
    const containers = inspected.map((c) => ({ service: c.Config.Labels['com.docker.compose.service']!, id: c.Id, pid: c.State.Pid }));
    const ip = (svc: string) => {
      const c = inspected.find((x) => x.Config.Labels['com.docker.compose.service'] === svc);
      const addr =
        c &&
        Object.values(c.NetworkSettings.Networks)
          .map((n) => n.IPAddress)
          .find(Boolean);
      if (!addr) throw new Error(`no address for ${svc}`);
      return addr;
    };
    const backendIp = ip('backend');
    const nginxIp = ip('nginx');
    const images = Object.fromEntries(inspected.map((c) => [c.Config.Labels['com.docker.compose.service']!, c.Config.Image]));
    return {
      root,
      project: installed.project,
      backendUrl: `http://${backendIp}:3000`,
      edgeUrl: `http://${nginxIp}:8080`,
      publishedUrl: published,
      addresses: [backendIp, nginxIp],
      containers,
      token,
      hotPatientIds: hot,
      images,
    };
  } catch (err) {
    await removeBenchStack(cli, root).catch(() => undefined);
    throw err;
  }
}

/** `uninstall --purge --yes` and remove the temp dir. */
export async function removeBenchStack(cli: string, root: string): Promise<void> {
  if (existsSync(root)) await runToEnd([process.execPath, cli, 'uninstall', '--dir', root, '--purge', '--yes'], process.env).catch(() => undefined);
  await rm(join(root, '..'), { recursive: true, force: true });
}
