/**
 * What `npm run bench` runs against: the host-side test PostgreSQL and Redis (test/setup/
 * services.sh), a database of its own, the server as real processes with the environment the
 * installer renders for this host, the bare baseline server, and the host's nginx with the config
 * Carebox renders. Every process started here is stopped by its own handle (pid), never by name.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { parse } from 'yaml';
import { detectResources } from '../installer/detect/resources.detect.js';
import { buildIntent } from '../installer/plan/intent.js';
import type { Plan } from '../installer/plan/plan.types.js';
import { planCarebox } from '../installer/plan/tier.plan.js';
import { renderCompose } from '../installer/render/compose.render.js';
import { renderNginx } from '../installer/render/config.render.js';
import { loadTemplates } from '../installer/render/templates.load.js';

/** URLs of the host-side test services. */
export interface Services {
  databaseUrl: string;
  redisUrl: string;
}

/**
 * Starts (idempotently) the test PostgreSQL and Redis with test/setup/services.sh and returns
 * their URLs (the script prints `export NAME=value` lines).
 */
export function startServices(repo: string): Services {
  const out = execFileSync('bash', [join(repo, 'test/setup/services.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const vars = Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const databaseUrl = vars.CAREBOX_TEST_DATABASE_URL;
  const redisUrl = vars.CAREBOX_TEST_REDIS_URL;
  if (!databaseUrl || !redisUrl) throw new Error('test/setup/services.sh printed no service URLs');
  return { databaseUrl, redisUrl };
}

/** Drops and re-creates database `name` next to the test database; returns its URL. */
export async function freshDatabase(services: Services, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: services.databaseUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(services.databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops database `name` (end of the run). */
export async function dropDatabase(services: Services, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: services.databaseUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}

export { freePort } from '../test/net.helpers.js';

/** The plan `carebox install` would make for this host with no flags. */
export async function planForThisHost(): Promise<Plan> {
  const r = await detectResources();
  return planCarebox({ cpus: r.cpus, hostCpus: r.hostCpus, memoryBytes: r.memoryBytes, hostMemoryBytes: r.hostMemoryBytes }, buildIntent({}));
}

/**
 * The environment a backend container gets for `plan`: the server image's `ENV` lines
 * (server/Dockerfile) and the environment the installer renders into compose.yml
 * (`backend.environment`: WEB_CONCURRENCY, pool sizes, NODE_OPTIONS, LOG_LEVEL, …), pointed at the
 * bench's database, Redis and port instead of the stack's service names.
 */
export function renderedBackendEnv(
  repo: string,
  plan: Plan,
  target: { databaseUrl: string; redisUrl: string; port: number; prefix: string },
): Record<string, string> {
  const imageEnv = Object.fromEntries([...readFileSync(join(repo, 'server/Dockerfile'), 'utf8').matchAll(/^ENV (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const templates = loadTemplates(repo);
  const images = { postgres: 'postgres:15', redis: 'redis:7', nginx: 'nginx:1', pgbouncer: 'pgbouncer:1', node: 'node:20', server: 'carebox-server:bench' };
  const yaml = renderCompose(plan, images, { project: 'carebox-bench', httpPort: 8080, bindAddress: '127.0.0.1', version: 'bench' }, templates.compose);
  const doc = parse(yaml) as { services: { backend: { environment: Record<string, string> } } };
  const env: Record<string, string> = { ...imageEnv };
  for (const [k, v] of Object.entries(doc.services.backend.environment)) {
    if (/^(DATABASE_|REDIS_)/.test(k) || /\$\{/.test(String(v))) continue; // stack addresses and secrets
    env[k] = String(v);
  }
  return {
    ...env,
    DATABASE_URL: target.databaseUrl,
    REDIS_URL: target.redisUrl,
    PORT: String(target.port),
    HOST: '127.0.0.1',
    QUEUE_NAME_PREFIX: target.prefix,
    HOSPITAL_TIMEZONE: 'UTC',
  };
}

/** A child process started by the bench, stopped by its pid. */
export interface Proc {
  child: ChildProcess;
  /** Sends SIGTERM and waits (at most `timeoutMs`, then SIGKILL). */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Spawns `argv` with stdout and stderr going straight to `logFile` (a file descriptor, not a pipe
 * through this process: the load generator's CPU stays its own, and nginx can open /dev/stdout).
 */
export function startProcess(argv: string[], env: NodeJS.ProcessEnv, logFile: string): Proc {
  const fd = openSync(logFile, 'a');
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to completion; resolves with stdout, rejects with stderr on a non-zero exit. */
export function runToEnd(argv: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    if (stdin !== undefined) child.stdin!.end(stdin);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${argv.slice(0, 3).join(' ')} exited ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`)),
    );
  });
}

/** Polls `url` until it answers `status` (default 200). @throws after `timeoutMs`. */
export async function waitFor(url: string, timeoutMs = 30_000, status = 200): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await r.arrayBuffer();
      if (r.status === status) return;
      last = `HTTP ${r.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (${last})`);
}

/**
 * Writes the nginx config Carebox renders for `plan` with its upstream pointed at `upstream`
 * (`127.0.0.1:PORT`), adapted only where the host differs from the nginx container: the listen
 * address and the pid file. Checked with `nginx -t` in `image` (the stack's nginx: the rendered
 * config needs nginx ≥ 1.27.3, newer than Debian 12's host package).
 * @returns the config path.
 */
export async function writeHostNginxConfig(repo: string, plan: Plan, dir: string, listenPort: number, upstream: string, image: string): Promise<string> {
  const rendered = renderNginx(plan, loadTemplates(repo).nginx, upstream);
  const adapted = rendered
    .replace(/^(\s*)listen 8080 default_server;/m, `$1listen 127.0.0.1:${listenPort} default_server;`)
    .replace(/^pid .*;$/m, `pid ${join(dir, 'nginx.pid')};`);
  if (adapted === rendered) throw new Error('the rendered nginx config has no `listen 8080` to adapt');
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'nginx.conf');
  await writeFile(path, adapted);
  execFileSync('docker', ['run', '--rm', '--network', 'host', '-v', `${dir}:${dir}`, image, 'nginx', '-t', '-q', '-p', dir, '-c', path], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return path;
}

/**
 * Runs nginx from `image` on the host network with the config at `conf` (a container named
 * `name`, removed when it stops). Stop it with the returned handle (SIGTERM through `docker run`).
 * @returns the handle and the container id (for its cgroup's CPU time).
 */
export async function startHostNginx(image: string, dir: string, conf: string, name: string, logFile: string): Promise<{ proc: Proc; containerId: string }> {
  const proc = startProcess(
    ['docker', 'run', '--rm', '--name', name, '--network', 'host', '-v', `${dir}:${dir}`, image, 'nginx', '-p', dir, '-c', conf, '-g', 'daemon off;'],
    process.env,
    logFile,
  );
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    try {
      const id = execFileSync('docker', ['inspect', '-f', '{{.Id}} {{.State.Running}}', name], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      if (id.endsWith(' true')) return { proc, containerId: id.split(' ')[0]! };
    } catch {
      // not created yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await proc.stop();
  throw new Error(`nginx container ${name} did not start (see ${logFile})`);
}

/** Child pids of `pid` (Linux /proc). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Resident and peak resident memory of `pid`, bytes (/proc/PID/status VmRSS, VmHWM). */
export function residentMemory(pid: number): { rssBytes: number; peakRssBytes: number } | null {
  if (!existsSync(`/proc/${pid}/status`)) return null;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** Every descendant pid of `pid`, and `pid` itself (Linux /proc). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i += 1) {
    try {
      for (const task of readdirSync(`/proc/${out[i]}/task`)) out.push(...childPids2(out[i]!, Number(task)));
    } catch {
      // gone
    }
  }
  return [...new Set(out)];
}

function childPids2(pid: number, task: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || '100');

/**
 * CPU time (user + system) used so far by `pids` and by their exited, reaped children, in µs (from
 * /proc/PID/stat utime + stime + cutime + cstime, clock-tick resolution). Pass whole process trees:
 * a child that exits between two snapshots (a PostgreSQL backend whose connection closed, a
 * restarted worker) then moves into its parent's cutime instead of vanishing from the total.
 */
export function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]); // utime, stime, cutime, cstime (fields 14–17 of stat)
    } catch {
      // exited meanwhile
    }
  }
  return ticks * TICK_US;
}

/** Pid of the test PostgreSQL postmaster and the test Redis (test/setup/services.sh's state dir). */
export function servicePids(state = process.env.CAREBOX_TEST_STATE ?? '/tmp/carebox-test'): { postgres: number | null; redis: number | null } {
  const first = (file: string) => {
    try {
      const n = Number(readFileSync(file, 'utf8').split('\n')[0]);
      return Number.isInteger(n) && n > 0 ? n : null;
    } catch {
      return null;
    }
  };
  return { postgres: first(join(state, 'pgdata', 'postmaster.pid')), redis: first(join(state, 'redis.pid')) };
}
