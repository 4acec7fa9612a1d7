/**
 * Helpers for the day-to-day operation e2e files (scale, retier, backup, upgrade, bundle, support
 * bundle): one installed stack per file in its own temp root on a free loopback port, SQL through
 * the db container, a bounded loopback load generator, and an always-run teardown.
 */
import autocannon from 'autocannon';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { carebox, freePort, readText, STANDINS, type CliRun } from './e2e.helpers.js';

/** An installed stack for one e2e file. */
export interface TestStack {
  /** Parent temp dir (removed on teardown). */
  base: string;
  root: string;
  port: number;
  url: string;
  project: string;
  /**
   * --images file: the stand-ins plus the server image the first install built. Later installs
   * pass it, so a colleague rebuilding dist/ meanwhile cannot change the server image under a test.
   */
  images: string;
}

/**
 * Install a stack (`--tier`, `--bind 127.0.0.1`, a free port, the stand-in images) and pin its
 * server image for later installs.
 * @throws Error with the CLI's stderr when the install fails.
 */
export async function installTestStack(name: string, tier: string, extra: string[] = []): Promise<TestStack> {
  const base = await mkdtemp(join(tmpdir(), `carebox-${name}-`));
  const root = join(base, 'root');
  const port = await freePort();
  const r = await carebox(['install', '--yes', '--json', '--dir', root, '--tier', tier, '--http-port', String(port), '--bind', '127.0.0.1', '--images', STANDINS, ...extra]);
  if (r.code !== 0) throw new Error(`install failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  const manifest = JSON.parse(readText(join(root, 'carebox.json')));
  const images = join(base, 'images.json');
  await writeFile(images, JSON.stringify({ ...JSON.parse(readText(STANDINS)), server: manifest.images.server }));
  return { base, root, port, url: `http://127.0.0.1:${port}`, project: r.json.project, images };
}

/** `uninstall --purge --yes` and remove the temp dir, whatever state the stack is in. */
export async function teardownTestStack(s: TestStack | null | undefined): Promise<void> {
  if (!s) return;
  if (existsSync(s.root)) await carebox(['uninstall', '--dir', s.root, '--purge', '--yes']);
  await rm(s.base, { recursive: true, force: true });
}

/** Run a verb against the stack (adds --dir). */
export function cli(s: TestStack, args: string[], opts: Parameters<typeof carebox>[1] = {}): Promise<CliRun> {
  return carebox([...args, '--dir', s.root], opts);
}

/** The running containers of one service, by Compose labels. */
export async function containersOf(docker: Docker, project: string, service: string) {
  return docker.listContainers({ filters: { label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`] } });
}

/** Run SQL through psql in the db container; returns stdout (unaligned, tuples only). */
export async function sql(docker: Docker, project: string, text: string): Promise<string> {
  const [db] = await containersOf(docker, project, 'db');
  if (!db) throw new Error('db is not running');
  const exec = await docker.getContainer(db.Id).exec({ Cmd: ['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'carebox', '-d', 'carebox', '-c', text], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((res, rej) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', res);
    stream.on('error', rej);
  });
  const info = await exec.inspect();
  const { demuxDockerLogs } = await import('../../installer/apply/container.logs.js');
  const frames = demuxDockerLogs(Buffer.concat(chunks)).frames;
  const out = frames.filter((f) => f.stream === 'stdout').map((f) => f.text).join('');
  if (info.ExitCode !== 0) throw new Error(`psql failed: ${frames.map((f) => f.text).join('')}`);
  return out.trim();
}

/** Insert `n` synthetic patients (only the columns every schema version has). */
export async function seedPatients(docker: Docker, project: string, n: number, prefix = 'E2E'): Promise<void> {
  await sql(docker, project, `INSERT INTO patients (mrn, given_name, family_name, birth_date, sex) SELECT '${prefix}-' || g, 'Given' || g, 'Family' || g, date '1970-01-01' + g, 'unknown' FROM generate_series(1, ${n}) g`);
}

/** Content checksum of the patients table (md5 over its rows in a fixed order). */
export async function patientsChecksum(docker: Docker, project: string): Promise<string> {
  return sql(docker, project, "SELECT md5(coalesce(string_agg(mrn || '|' || given_name || '|' || family_name || '|' || birth_date::text, ',' ORDER BY mrn), '')) FROM patients");
}

/** What a bounded load run saw. */
export interface LoadReport {
  path: string;
  requests: number;
  /** Status code → count. */
  codes: Record<string, number>;
  /** Socket errors and timeouts (autocannon `reqError`). */
  errors: Record<string, number>;
  failed: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * A loopback load generator (autocannon, 6 connections) against the stack's nginx that runs until
 * `stop()` (or at most `maxSeconds`). A failure is a status outside 2xx/3xx or a socket error.
 */
export function startLoad(url: string, path: string, opts: { connections?: number; maxSeconds?: number } = {}): { stop: () => Promise<LoadReport> } {
  if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error('load generation targets loopback only');
  const codes: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let finish: (r: autocannon.Result) => void = () => undefined;
  const done = new Promise<autocannon.Result>((res) => (finish = res));
  const inst = autocannon({ url: `${url}${path}`, connections: opts.connections ?? 6, duration: opts.maxSeconds ?? 240, timeout: 30 }, (_err, result) => finish(result));
  inst.on('response', (_c: unknown, status: number) => {
    codes[status] = (codes[status] ?? 0) + 1;
  });
  inst.on('reqError', (e: NodeJS.ErrnoException) => {
    const k = e.code ?? e.message;
    errors[k] = (errors[k] ?? 0) + 1;
  });
  return {
    stop: async () => {
      inst.stop();
      const r = await done;
      const failed = Object.entries(codes).filter(([c]) => Number(c) < 200 || Number(c) >= 400).reduce((s, [, n]) => s + n, 0) + Object.values(errors).reduce((s, n) => s + n, 0);
      return { path, requests: Object.values(codes).reduce((s, n) => s + n, 0), codes, errors, failed, p99Ms: r.latency.p99, maxMs: r.latency.max };
    },
  };
}
