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
import { ACCESS_LOG_FLUSH_WAIT_MS, parseAccessLine } from '../../installer/render/access-log.format.js';

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
  /** The first admin the install created (one-time password; see {@link adminToken}). */
  admin: { username: string; oneTimePassword: string | null } | null;
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
  const r = await carebox([
    'install',
    '--yes',
    '--json',
    '--dir',
    root,
    '--tier',
    tier,
    '--http-port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--images',
    STANDINS,
    ...extra,
  ]);
  if (r.code !== 0) {
    // Nothing of a failed install may outlive the test (its containers would keep running).
    await teardownTestStack({ base, root } as TestStack);
    throw new Error(`install failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  }
  const manifest = JSON.parse(readText(join(root, 'carebox.json')));
  const images = join(base, 'images.json');
  await writeFile(images, JSON.stringify({ ...JSON.parse(readText(STANDINS)), server: manifest.images.server }));
  return { base, root, port, url: `http://127.0.0.1:${port}`, project: r.json.project, images, admin: r.json.admin ?? null };
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
  const exec = await docker
    .getContainer(db.Id)
    .exec({ Cmd: ['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'carebox', '-d', 'carebox', '-c', text], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((res, rej) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', res);
    stream.on('error', rej);
  });
  const info = await exec.inspect();
  const { demuxDockerLogs } = await import('../../installer/runtime/container.logs.js');
  const frames = demuxDockerLogs(Buffer.concat(chunks)).frames;
  const out = frames
    .filter((f) => f.stream === 'stdout')
    .map((f) => f.text)
    .join('');
  if (info.ExitCode !== 0) throw new Error(`psql failed: ${frames.map((f) => f.text).join('')}`);
  return out.trim();
}

/** Insert `n` synthetic patients (only the columns every schema version has). */
export async function seedPatients(docker: Docker, project: string, n: number, prefix = 'E2E'): Promise<void> {
  await sql(
    docker,
    project,
    `INSERT INTO patients (mrn, given_name, family_name, birth_date, sex) SELECT '${prefix}-' || g, 'Given' || g, 'Family' || g, date '1970-01-01' + g, 'unknown' FROM generate_series(1, ${n}) g`,
  );
}

/** Content checksum of the patients table (md5 over its rows in a fixed order). */
export async function patientsChecksum(docker: Docker, project: string): Promise<string> {
  return sql(
    docker,
    project,
    "SELECT md5(coalesce(string_agg(mrn || '|' || given_name || '|' || family_name || '|' || birth_date::text, ',' ORDER BY mrn), '')) FROM patients",
  );
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
  const inst = autocannon({ url: `${url}${path}`, connections: opts.connections ?? 6, duration: opts.maxSeconds ?? 240, timeout: 30 }, (_err, result) =>
    finish(result),
  );
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
      const failed =
        Object.entries(codes)
          .filter(([c]) => Number(c) < 200 || Number(c) >= 400)
          .reduce((s, [, n]) => s + n, 0) + Object.values(errors).reduce((s, n) => s + n, 0);
      return { path, requests: Object.values(codes).reduce((s, n) => s + n, 0), codes, errors, failed, p99Ms: r.latency.p99, maxMs: r.latency.max };
    },
  };
}

/** One JSON call to the records API through the stack's nginx (loopback only). */
export async function apiCall(
  url: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; body: any; headers: Headers }> {
  if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error('API calls target loopback only');
  const r = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await r.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: r.status, body: parsed, headers: r.headers };
}

/**
 * Sign in as the install's first admin and change the one-time password (every other call is
 * refused until then). @returns a bearer token.
 */
export async function signInAdmin(s: TestStack): Promise<string> {
  if (!s.admin) throw new Error('the install result had no first admin');
  const login = await apiCall(s.url, 'POST', '/auth/login', null, { username: s.admin.username, password: s.admin.oneTimePassword });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  const token = login.body.token as string;
  const changed = await apiCall(s.url, 'POST', '/auth/change-password', token, {
    currentPassword: s.admin.oneTimePassword,
    newPassword: 'ward-7-upgrade-night-2026',
  });
  if (changed.status !== 204) throw new Error(`change-password: ${changed.status} ${JSON.stringify(changed.body)}`);
  return token;
}

/** What authenticated API traffic saw. */
export interface ApiTrafficReport {
  /** Ids of patients the API answered 201 for. */
  created: string[];
  /** Write status → count (`error` for a socket error or timeout). */
  writes: Record<string, number>;
  /** Writes answered 503 without a Retry-After header (must be 0). */
  refusedWithoutRetryAfter: number;
  /** Read status → count. */
  reads: Record<string, number>;
  /** Reads not answered 200. */
  failedReads: number;
  /** Writes neither 201 nor a 503 with Retry-After. */
  failedWrites: number;
}

/**
 * Authenticated traffic through nginx until `stop()` (or `maxSeconds`): one writer creates a
 * patient every `writeEveryMs` (the field case: one every 0.2 s), two readers read a known patient
 * and the first page of the list back to back (with a short pause). Bounded in time and count.
 */
export function startApiTraffic(
  url: string,
  token: string,
  opts: { writeEveryMs?: number; maxSeconds?: number; tag?: string; readPatientId: string },
): { stop: () => Promise<ApiTrafficReport> } {
  const deadline = Date.now() + (opts.maxSeconds ?? 600) * 1000;
  const report: ApiTrafficReport = { created: [], writes: {}, refusedWithoutRetryAfter: 0, reads: {}, failedReads: 0, failedWrites: 0 };
  let stopped = false;
  const tag = opts.tag ?? Math.random().toString(36).slice(2, 8);
  const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  const writer = (async () => {
    for (let n = 0; !stopped && Date.now() < deadline && n < 20_000; n++) {
      const t = Date.now();
      try {
        const r = await apiCall(url, 'POST', '/patients', token, {
          mrn: `TR-${tag}-${n}`,
          givenName: 'Traffic',
          familyName: `Writer${n}`,
          birthDate: '1980-01-01',
          sex: 'unknown',
        });
        bump(report.writes, String(r.status));
        if (r.status === 201) report.created.push(r.body.id);
        else if (r.status === 503 && r.headers.get('retry-after')) {
          /* refused with Retry-After: allowed, nothing was acknowledged */
        } else {
          if (r.status === 503) report.refusedWithoutRetryAfter++;
          report.failedWrites++;
        }
      } catch {
        bump(report.writes, 'error');
        report.failedWrites++;
      }
      await new Promise((res) => setTimeout(res, Math.max(0, (opts.writeEveryMs ?? 200) - (Date.now() - t))));
    }
  })();
  const reader = async (path: string) => {
    for (let n = 0; !stopped && Date.now() < deadline && n < 100_000; n++) {
      try {
        const r = await apiCall(url, 'GET', path, token);
        bump(report.reads, String(r.status));
        if (r.status !== 200) report.failedReads++;
      } catch {
        bump(report.reads, 'error');
        report.failedReads++;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const readers = [reader(`/patients/${opts.readPatientId}`), reader('/patients?limit=20')];
  return {
    stop: async () => {
      stopped = true;
      await Promise.all([writer, ...readers]);
      return report;
    },
  };
}

/**
 * A bearer token of the install's first admin, through nginx: signs in with the one-time password
 * and sets a new one (the API refuses other calls until then).
 * @throws Error when the install created no admin or a call fails.
 */
export async function adminToken(s: TestStack): Promise<string> {
  if (!s.admin?.oneTimePassword) throw new Error('the install created no admin with a one-time password');
  const call = async (path: string, body: unknown, token?: string) => {
    const r = await fetch(`${s.url}/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`POST ${path}: HTTP ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const { token } = await call('/auth/login', { username: s.admin.username, password: s.admin.oneTimePassword });
  await call('/auth/change-password', { currentPassword: s.admin.oneTimePassword, newPassword: 'e2e-keepalive-ward-2026' }, token);
  return token as string;
}

/** What a bounded write load saw: statuses, socket errors, and the MRNs of patients answered 201. */
export interface WriteLoadReport extends LoadReport {
  created: string[];
}

/**
 * Authenticated writes through nginx until `stop()` (at most `maxSeconds`): `connections` loops,
 * each creating patients one after the other (`POST /api/v1/patients`, a unique MRN each). A
 * failure is any status but 201, or a socket error. Loopback only.
 */
export function startWriteLoad(
  url: string,
  token: string,
  opts: { connections?: number; maxSeconds?: number; prefix?: string } = {},
): { stop: () => Promise<WriteLoadReport> } {
  if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error('load generation targets loopback only');
  const codes: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const created: string[] = [];
  const latencies: number[] = [];
  const prefix = opts.prefix ?? `WL${Date.now().toString(36).toUpperCase()}`;
  const deadline = Date.now() + (opts.maxSeconds ?? 240) * 1000;
  let stopping = false;
  let n = 0;
  const loop = async (): Promise<void> => {
    while (!stopping && Date.now() < deadline) {
      const mrn = `${prefix}-${(n += 1)}`;
      const started = Date.now();
      try {
        const r = await fetch(`${url}/api/v1/patients`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ mrn, givenName: 'Write', familyName: 'Load', birthDate: '1980-01-01', sex: 'unknown' }),
          signal: AbortSignal.timeout(30_000),
        });
        await r.arrayBuffer();
        codes[r.status] = (codes[r.status] ?? 0) + 1;
        if (r.status === 201) created.push(mrn);
      } catch (err) {
        const k = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        errors[k] = (errors[k] ?? 0) + 1;
      }
      latencies.push(Date.now() - started);
    }
  };
  const loops = Array.from({ length: opts.connections ?? 2 }, () => loop());
  return {
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      const requests = Object.values(codes).reduce((a, b) => a + b, 0);
      const failed = requests - (codes['201'] ?? 0) + Object.values(errors).reduce((a, b) => a + b, 0);
      const sorted = latencies.sort((a, b) => a - b);
      return {
        path: 'POST /api/v1/patients',
        requests,
        codes,
        errors,
        failed,
        created,
        p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
        maxMs: sorted.at(-1) ?? 0,
      };
    },
  };
}

/** The ids of `ids` that are not in the patients table (SQL through the db container). */
export async function missingPatients(docker: Docker, project: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const present = new Set(
    (await sql(docker, project, `SELECT id FROM patients WHERE id IN (${ids.map((i) => `'${i.replace(/[^0-9a-f-]/g, '')}'`).join(',')})`))
      .split('\n')
      .filter(Boolean),
  );
  return ids.filter((i) => !present.has(i));
}

/** IPv4 address of each running container of `service` on the stack network. */
export async function containerAddresses(docker: Docker, project: string, service: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const c of await containersOf(docker, project, service)) {
    for (const net of Object.values(c.NetworkSettings?.Networks ?? {}))
      if (net.IPAddress) out.set(net.IPAddress, Number(c.Labels['com.docker.compose.container-number']));
  }
  return out;
}

/**
 * Which backend address answered each request id, from nginx's access log (parsed with the
 * installer's own parseAccessLine; buffered, so this waits ACCESS_LOG_FLUSH_WAIT_MS first). The
 * address is the last replica tried (the one that answered).
 */
export async function upstreamOfRequests(s: TestStack, ids: Set<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  // nginx flushes its buffered access log every few seconds; on a busy machine a line can come a
  // flush later, so read again (at most 4 times) until every request is there.
  for (let attempt = 0; attempt < 4 && out.size < ids.size; attempt++) {
    await new Promise((r) => setTimeout(r, ACCESS_LOG_FLUSH_WAIT_MS));
    const logs = await cli(s, ['logs', 'nginx', '--json', '--tail', '20000']);
    if (logs.code !== 0) throw new Error(`carebox logs nginx failed: ${logs.stderr}`);
    for (const line of logs.stdout.split('\n').filter(Boolean)) {
      const l = parseAccessLine(JSON.parse(line).line as string);
      const last = l?.upstreams.at(-1);
      if (l && last && ids.has(l.requestId)) out.set(l.requestId, last.replace(/:3000$/, ''));
    }
  }
  return out;
}
