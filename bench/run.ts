/**
 * `npm run bench`: one run, on this machine, of
 *   a) a bare Node.js `http` server answering the JSON of /health (the machine's limit),
 *   b) the server's GET /health, direct,
 *   c) the same through nginx (host nginx, config rendered by Carebox, upstream = the server),
 *   d) a cache-hot patient read, e) a patient search (given + family name, a page of up to 20),
 *   f) an appointment booking (a free slot each time), g) the read mix of `carebox loadtest`
 *      (search by MRN, cold read, hot read, list appointments),
 * each at 100 and 1,000 connections, plus the wall time of `carebox plan --json` and the resident
 * memory of each server worker. Then, against a stack installed by the CLI under test (issue 12;
 * containers, the stand-in images, the rendered nginx.conf; bench/stack.bench.ts):
 *   h) /health straight to a backend container's address, i) through nginx's container address,
 *   j) through the published port on 127.0.0.1, and k, l, m) the cache-hot patient read the same
 *   three ways, with CPU time per request of every container, the shims, dockerd, containerd and
 *   docker-proxy. Writes bench/results.json and bench/results.md.
 *
 * The server runs as real processes (`node dist/server/src/main.js`, cluster primary + workers)
 * with the backend environment the installer renders for this host, against the host-side test
 * PostgreSQL and Redis (test/setup/services.sh) in a database of its own (`carebox_bench`,
 * re-created per run and dropped after). Prerequisite: `bash test/run-all.sh` (or `npm run build`
 * with the test services' packages and nginx installed).
 *
 * Usage: npm run bench [-- --duration S] [--connections 100,1000] [--server-root DIR] [--out DIR]
 *                        [--only a,b,…] [--profile]
 *   --server-root DIR  bench another build of the server and CLI (e.g. an older commit's tree)
 *   --only LETTERS     run only these scenarios (profiling; ratios need a)
 *   --server-env K=V   extra environment for the server (experiments; repeatable)
 *   --stack-images F   images map for the installed stack (default test/images/images.standin.json)
 *   --stack-patients N synthetic patients in the installed stack (default 2000)
 *   env CAREBOX_BENCH_DATABASE / CAREBOX_BENCH_REDIS_DB: the database (default carebox_bench) and Redis
 *                      db index (default 3) the host rows use, when several people bench one machine
 *   --profile          run the server under `node --cpu-prof`; profiles of every process go to
 *                      .tmp/bench/profiles/ (summarize with `node --import=tsx bench/cpuprofile.summary.ts FILE`)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { runLoad, type LoadOptions, type LoadRequest, type LoadStats } from '../console/ops/loadtest.load.js';
import { API, mixRequests, SlotAllocator, syntheticMrn, type MixData } from '../console/ops/loadtest.mix.js';
import {
  childPids,
  cpuMicros,
  processTree,
  servicePids,
  dropDatabase,
  freePort,
  freshDatabase,
  planForThisHost,
  renderedBackendEnv,
  residentMemory,
  runToEnd,
  startProcess,
  startHostNginx,
  startServices,
  waitFor,
  writeHostNginxConfig,
  type Proc,
} from './bench.setup.js';
import { checkTargets, renderMarkdown, type BenchResults, type BenchRow } from './bench.report.js';
import { containerCpuMicros, installBenchStack, removeBenchStack, stackCpuSnapshot, type InstalledStack } from './stack.bench.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The bench's own database (dropped and re-created per run) and Redis db index; env overrides for shared machines. */
const DB_NAME = process.env.CAREBOX_BENCH_DATABASE ?? 'carebox_bench';
const REDIS_DB = process.env.CAREBOX_BENCH_REDIS_DB ?? '3';
const TENANT = 'bench';
const PATIENTS = 10_000;
const HOT_PATIENTS = 50;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '100,1000' },
    'server-root': { type: 'string' },
    out: { type: 'string' },
    only: { type: 'string' },
    'server-env': { type: 'string', multiple: true },
    profile: { type: 'boolean', default: false },
    'stack-images': { type: 'string' },
    'stack-patients': { type: 'string', default: '2000' },
  },
});
const only = args.only === undefined ? null : new Set(args.only.split(','));
const wanted = (id: string) => only === null || only.has(id);
const durationS = Number(args.duration);
const connectionCounts = args.connections!.split(',').map(Number);
if (!(durationS > 0) || connectionCounts.some((c) => !Number.isInteger(c) || c < 1)) {
  process.stderr.write('usage: npm run bench [-- --duration S] [--connections 100,1000] [--server-root DIR] [--out DIR]\n');
  process.exit(2);
}
const serverRoot = resolve(args['server-root'] ?? REPO);
const outDir = resolve(args.out ?? join(REPO, 'bench'));
const logDir = join(REPO, '.tmp', 'bench');
const log = (s: string) => process.stderr.write(`${s}\n`);

for (const file of [join(serverRoot, 'dist/server/src/main.js'), join(serverRoot, 'dist/console/cli.js'), join(REPO, 'dist/server/src/demo-data.js')]) {
  if (!existsSync(file)) {
    log(`bench: ${file} is missing: run \`npm run build\` (bash test/run-all.sh does) first`);
    process.exit(1);
  }
}

const procs: Proc[] = [];
const stopAll = async () => {
  for (const p of procs.reverse()) await p.stop();
  procs.length = 0;
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

/** Processes whose CPU time each row accounts for (filled in once they run). */
const accounted: { server: number[]; nginxContainer: string | null; postgres: () => Promise<number[]>; redis: number[] } = {
  server: [],
  nginxContainer: null,
  postgres: async () => [],
  redis: [],
};

/** CPU µs of every accounted group, and of this process (the load generator). */
async function cpuSnapshot(): Promise<Record<'server' | 'nginx' | 'postgres' | 'redis' | 'loadgen', number>> {
  const self = process.cpuUsage();
  return {
    server: cpuMicros(accounted.server.flatMap(processTree)),
    nginx: accounted.nginxContainer === null ? 0 : containerCpuMicros(accounted.nginxContainer),
    postgres: cpuMicros(await accounted.postgres()),
    redis: cpuMicros(accounted.redis),
    loadgen: self.user + self.system,
  };
}

/** Warm-up, then the measured run; CPU per request from `snapshot` (µs per group) taken around it. */
async function measure(
  id: string,
  name: string,
  options: Omit<LoadOptions, 'durationS'>,
  snapshot: () => Promise<Record<string, number>> = cpuSnapshot,
): Promise<BenchRow> {
  log(`  ${id}) ${name} @ ${options.connections} connections: warm-up`);
  await runLoad({ ...options, durationS: Math.min(3, durationS) });
  await new Promise((r) => setTimeout(r, 500));
  const before = await snapshot();
  const stats: LoadStats = await runLoad({ ...options, durationS });
  const after = await snapshot();
  const cpuUsPerRequest = Object.fromEntries(
    Object.keys(before).map((k) => [k, Math.round(((after[k]! - before[k]!) / Math.max(1, stats.requests)) * 10) / 10]),
  );
  log(
    `     ${stats.requestsPerSecond} req/s, p50 ${stats.latency.p50} ms, p95 ${stats.latency.p95} ms, p99 ${stats.latency.p99} ms, errors ${stats.errors.total}; ` +
      `CPU µs/req ${Object.entries(cpuUsPerRequest)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
  );
  await new Promise((r) => setTimeout(r, 1_000));
  return { id, name, stats, cpuUsPerRequest };
}

/** Rows h–m against an installed stack (see the header); the stack is removed afterwards. */
async function stackRows(): Promise<{
  rows: BenchRow[];
  stack: Pick<InstalledStack, 'images' | 'project'> & { webWorkerRssBytes: number[]; nginxConf: string };
}> {
  const cli = join(serverRoot, 'dist/console/cli.js');
  const imagesFile = resolve(args['stack-images'] ?? join(REPO, 'test/images/images.standin.json'));
  if (!existsSync(imagesFile)) throw new Error(`${imagesFile} is missing: run bash test/images/build-standins.sh`);
  const stack = await installBenchStack(cli, imagesFile, Number(args['stack-patients']), log);
  try {
    const snap = async () => stackCpuSnapshot(stack);
    const allowedHosts = stack.addresses;
    const auth = { authorization: `Bearer ${stack.token}` };
    const read: LoadRequest[] = stack.hotPatientIds.map((pid) => ({ method: 'GET', path: `${API}/patients/${pid}`, headers: auth }));
    const rows: BenchRow[] = [];
    for (const c of connectionCounts) {
      log(`bench: installed stack, ${c} connections`);
      const targets: Array<[string, string, string]> = [
        ['h', 'backend container', stack.backendUrl],
        ['i', 'nginx container', stack.edgeUrl],
        ['j', 'published port (127.0.0.1)', stack.publishedUrl],
      ];
      for (const [id, where, url] of targets)
        if (wanted(id)) rows.push(await measure(id, `stack: /health → ${where}`, { url, connections: c, path: '/health', allowedHosts }, snap));
      const reads: Array<[string, string, string]> = [
        ['k', 'backend container', stack.backendUrl],
        ['l', 'nginx container', stack.edgeUrl],
        ['m', 'published port (127.0.0.1)', stack.publishedUrl],
      ];
      for (const [id, where, url] of reads)
        if (wanted(id)) rows.push(await measure(id, `stack: cache-hot patient read → ${where}`, { url, connections: c, requests: read, allowedHosts }, snap));
    }
    // Resident memory of the web workers: the backend container's node processes but its primary.
    const backend = stack.containers.find((c) => c.service === 'backend')!;
    const webWorkerRssBytes = processTree(backend.pid)
      .filter((p) => p !== backend.pid)
      .map((p) => residentMemory(p)?.rssBytes ?? 0)
      .filter((b) => b > 0);
    const nginxConf = (await import('node:fs')).readFileSync(join(stack.root, 'nginx/nginx.conf'), 'utf8');
    return { rows, stack: { images: stack.images, project: stack.project, webWorkerRssBytes, nginxConf } };
  } finally {
    log('bench: removing the installed stack');
    await removeBenchStack(cli, stack.root);
  }
}

async function apiJson(base: string, path: string, init: RequestInit & { token?: string } = {}): Promise<any> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const r = await fetch(`${base}${path}`, { ...init, headers, signal: AbortSignal.timeout(10_000) });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${path}: HTTP ${r.status} ${JSON.stringify(body)}`);
  return body;
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const date = new Date().toISOString();
  await mkdir(logDir, { recursive: true });
  log(
    `bench: server from ${serverRoot}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const services = startServices(REPO);
  const databaseUrl = await freshDatabase(services, DB_NAME);
  const redisUrl = new URL(services.redisUrl);
  redisUrl.pathname = `/${REDIS_DB}`;
  const prefix = 'carebox-bench';
  const plan = await planForThisHost();
  const serverPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...renderedBackendEnv(serverRoot, plan, { databaseUrl, redisUrl: redisUrl.toString(), port: serverPort, prefix }),
  };
  for (const kv of args['server-env'] ?? []) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  // Not allowed in NODE_OPTIONS; cluster workers inherit the primary's execArgv.
  const profileArgs = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(logDir, 'profiles')}`] : [];
  const toolEnv = { ...env, LOG_LEVEL: 'warn', NODE_OPTIONS: '' };

  // Only the bare baseline and the installed stack asked for: seed no more than the hot patients.
  const seedPatients = ['b', 'c', 'd', 'e', 'f', 'g'].some(wanted) ? PATIENTS : HOT_PATIENTS;
  log('bench: migrating and seeding the bench database');
  await runToEnd([process.execPath, join(REPO, 'dist/server/src/migrate.js')], toolEnv);
  const password = randomBytes(24).toString('base64url');
  await runToEnd(
    [
      process.execPath,
      join(REPO, 'dist/server/src/demo-data.js'),
      '--patients',
      String(seedPatients),
      '--tenant',
      TENANT,
      '--clinicians',
      '40',
      '--users',
      '1',
      '--password-stdin',
    ],
    toolEnv,
    `${password}\n`,
  );

  const barePort = await freePort();
  procs.push(startProcess([process.execPath, join(REPO, 'bench/bare-server.mjs'), String(barePort)], process.env, join(logDir, 'bare.log')));
  const server = startProcess([process.execPath, ...profileArgs, join(serverRoot, 'dist/server/src/main.js')], env, join(logDir, 'server.log'));
  procs.push(server);
  accounted.server = [server.child.pid!];
  const pids = servicePids();
  accounted.redis = pids.redis === null ? [] : [pids.redis];
  // The whole postmaster tree (backends, WAL writer, checkpointer): the test PostgreSQL serves only
  // the bench while it runs, and backends that exit are kept in the postmaster's cutime.
  const postmaster = pids.postgres;
  accounted.postgres = async () => (postmaster === null ? [] : processTree(postmaster));
  const bare = `http://127.0.0.1:${barePort}`;
  const direct = `http://127.0.0.1:${serverPort}`;
  await waitFor(`${bare}/health`);
  await waitFor(`${direct}/ready`);

  // Row (c): the rendered nginx.conf in the stack's nginx image (nginx ≥ 1.27.3), on the host network.
  const nginxPort = await freePort();
  const nginxDir = join(logDir, 'nginx');
  const edge = `http://127.0.0.1:${nginxPort}`;
  let nginxContainer: string | null = null;
  if (wanted('c')) {
    const nginxImage = JSON.parse(readFileSync(resolve(args['stack-images'] ?? join(REPO, 'test/images/images.standin.json')), 'utf8')).nginx as string;
    const nginxConf = await writeHostNginxConfig(serverRoot, plan, nginxDir, nginxPort, `127.0.0.1:${serverPort}`, nginxImage);
    const started = await startHostNginx(nginxImage, nginxDir, nginxConf, `carebox-bench-nginx-${process.pid}`, join(logDir, 'nginx.log'));
    procs.push(started.proc);
    nginxContainer = started.containerId;
    accounted.nginxContainer = nginxContainer;
    await waitFor(`${edge}/health`);
  }

  const { token } = await apiJson(direct, `${API}/auth/login`, { method: 'POST', body: JSON.stringify({ username: `${TENANT}-clerk-00001`, password }) });
  const mrnPrefix = `${TENANT.toUpperCase()}-`;
  const hot: string[] = [];
  for (let i = 1; i <= HOT_PATIENTS; i += 1) {
    const page = await apiJson(direct, `${API}/patients?q=${syntheticMrn(mrnPrefix, i)}`, { token });
    hot.push(page.items[0].id);
  }
  const clinicianIds = new Set<string>();
  for (const id of hot.slice(0, 20)) {
    for (const a of (await apiJson(direct, `${API}/appointments?patientId=${id}`, { token })).items) clinicianIds.add(a.clinicianId);
  }
  const data: MixData = { mrnPrefix, patientCount: seedPatients, hotPatientIds: hot, clinicianIds: [...clinicianIds] };
  const auth = { authorization: `Bearer ${token}` };
  const searches: LoadRequest[] = [
    'alex synthetica',
    'casey demoson',
    'dana placeholder',
    'eli mockwell',
    'gale sampleton',
    'harper fixture',
    'jules stubbs',
    'kai replica',
  ].map((q) => ({
    method: 'GET',
    path: `${API}/patients?q=${encodeURIComponent(q)}&limit=20`,
    headers: auth,
  }));
  const slots = new SlotAllocator(data.clinicianIds);

  const rows: BenchRow[] = [];
  for (const c of connectionCounts) {
    log(`bench: ${c} connections`);
    if (wanted('a')) rows.push(await measure('a', 'bare Node.js http (same JSON as /health)', { url: bare, connections: c, path: '/health' }));
    if (wanted('b')) rows.push(await measure('b', '/health direct', { url: direct, connections: c, path: '/health' }));
    if (wanted('c')) rows.push(await measure('c', '/health through nginx', { url: edge, connections: c, path: '/health' }));
    if (wanted('d'))
      rows.push(
        await measure('d', 'cache-hot patient read', {
          url: direct,
          connections: c,
          requests: hot.map((id) => ({ method: 'GET', path: `${API}/patients/${id}`, headers: auth })),
        }),
      );
    if (wanted('e')) rows.push(await measure('e', 'patient search (name, page of ≤ 20)', { url: direct, connections: c, requests: searches }));
    if (wanted('f'))
      rows.push(
        await measure('f', 'appointment booking', {
          url: direct,
          connections: c,
          requests: [
            {
              method: 'POST',
              path: `${API}/appointments`,
              headers: { ...auth, 'content-type': 'application/json' },
              setupRequest: (req) => ({ ...req, body: JSON.stringify({ patientId: hot[slots.taken % hot.length], ...slots.take(), department: 'Bench' }) }),
            },
          ],
        }),
      );
    if (wanted('g'))
      rows.push(
        await measure('g', 'read mix (MRN search, cold read, hot read, appointment list)', {
          url: direct,
          connections: c,
          perConnection: () => mixRequests(token, data, { book: false }),
        }),
      );
  }

  const primaryPid = server.child.pid!;
  const workers = childPids(primaryPid).flatMap((pid) => {
    const m = residentMemory(pid);
    return m ? [{ pid, ...m }] : [];
  });
  const primaryRssBytes = residentMemory(primaryPid)?.rssBytes ?? null;
  // The host-side server and nginx stop first; the bare server (a) stays out of the way (idle).
  for (const p of procs.splice(1)) await p.stop();
  const stacked = ['h', 'i', 'j', 'k', 'l', 'm'].some(wanted) ? await stackRows() : null;
  if (stacked) rows.push(...stacked.rows);
  await stopAll();

  log('bench: timing `carebox plan --json`');
  const planRuns: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const started = process.hrtime.bigint();
    execFileSync(process.execPath, [join(serverRoot, 'dist/console/cli.js'), 'plan', '--json'], {
      stdio: ['ignore', 'ignore', 'ignore'],
      env: { ...process.env, CAREBOX_DIR: join(logDir, 'no-install') },
    });
    planRuns.push(Math.round(Number(process.hrtime.bigint() - started) / 1e6));
  }
  const sorted = [...planRuns].sort((x, y) => x - y);

  await cleanRedis(redisUrl.toString(), prefix);
  await dropDatabase(services, DB_NAME);

  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['-C', serverRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = serverRoot === REPO ? null : 'tree without git';
  }
  const results: BenchResults = {
    meta: {
      date,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(), kernel: release(), node: process.version },
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg()[0]!,
      commit,
      serverRoot,
      plan: {
        tier: plan.tier,
        webWorkers: plan.sizing.backend.replicas * plan.sizing.backend.workers,
        poolMax: plan.sizing.backend.pool.max,
        nginxWorkers: plan.sizing.nginx.workerProcesses,
        nginxWorkerConnections: plan.sizing.nginx.workerConnections,
      },
      durationS,
      connections: connectionCounts,
    },
    rows,
    planWallMs: { runs: planRuns, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! },
    memory: { workers, primaryRssBytes },
    stack: stacked
      ? {
          project: stacked.stack.project,
          images: stacked.stack.images,
          webWorkerRssBytes: stacked.stack.webWorkerRssBytes,
          upstreamKeepalive: /^\s*keepalive \d+;/m.test(stacked.stack.nginxConf),
        }
      : null,
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'results.json'), `${JSON.stringify({ ...results, targets: checkTargets(results) }, null, 2)}\n`);
  const md = renderMarkdown(results);
  await writeFile(join(outDir, 'results.md'), md);
  process.stdout.write(md);
  log(`bench: wrote ${join(outDir, 'results.json')} and ${join(outDir, 'results.md')}`);
}

/** Deletes the bench's keys from its Redis database (SCAN + DEL on the prefix only). */
async function cleanRedis(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

try {
  await main();
} catch (err) {
  log(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
