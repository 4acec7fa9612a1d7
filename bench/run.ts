/**
 * `npm run bench`: one run, on this machine, of
 *   a) a bare Node.js `http` server answering the JSON of /health (the machine's limit),
 *   b) the server's GET /health, direct,
 *   c) the same through nginx (host nginx, config rendered by Carebox, upstream = the server),
 *   d) a cache-hot patient read, e) a patient search (given + family name, a page of up to 20),
 *   f) an appointment booking (a free slot each time), g) the read mix of `carebox loadtest`
 *      (search by MRN, cold read, hot read, list appointments),
 * each at 100 and 1,000 connections, plus the wall time of `carebox plan --json` and the resident
 * memory of each server worker. Writes bench/results.json and bench/results.md.
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
 *   --profile          run the server under `node --cpu-prof`; profiles of every process go to
 *                      .tmp/bench/profiles/ (summarize with `node --import=tsx bench/cpuprofile.summary.ts FILE`)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
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
  startServices,
  waitFor,
  writeHostNginxConfig,
  type Proc,
} from './bench.setup.js';
import { checkTargets, renderMarkdown, type BenchResults, type BenchRow } from './bench.report.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DB_NAME = 'carebox_bench';
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
const accounted: { server: number[]; nginx: number[]; postgres: () => Promise<number[]>; redis: number[] } = {
  server: [],
  nginx: [],
  postgres: async () => [],
  redis: [],
};

/** CPU µs of every accounted group, and of this process (the load generator). */
async function cpuSnapshot(): Promise<Record<'server' | 'nginx' | 'postgres' | 'redis' | 'loadgen', number>> {
  const self = process.cpuUsage();
  return {
    server: cpuMicros(accounted.server.flatMap(processTree)),
    nginx: cpuMicros(accounted.nginx.flatMap(processTree)),
    postgres: cpuMicros(await accounted.postgres()),
    redis: cpuMicros(accounted.redis),
    loadgen: self.user + self.system,
  };
}

/** Warm-up, then the measured run. */
async function measure(id: string, name: string, options: Omit<LoadOptions, 'durationS'>): Promise<BenchRow> {
  log(`  ${id}) ${name} @ ${options.connections} connections: warm-up`);
  await runLoad({ ...options, durationS: Math.min(3, durationS) });
  await new Promise((r) => setTimeout(r, 500));
  const before = await cpuSnapshot();
  const stats: LoadStats = await runLoad({ ...options, durationS });
  const after = await cpuSnapshot();
  const per = (k: keyof typeof before) => Math.round(((after[k] - before[k]) / Math.max(1, stats.requests)) * 10) / 10;
  const cpuUsPerRequest = { server: per('server'), nginx: per('nginx'), postgres: per('postgres'), redis: per('redis'), loadgen: per('loadgen') };
  log(
    `     ${stats.requestsPerSecond} req/s, p50 ${stats.latency.p50} ms, p95 ${stats.latency.p95} ms, p99 ${stats.latency.p99} ms, errors ${stats.errors.total}; ` +
      `CPU µs/req server ${cpuUsPerRequest.server}, nginx ${cpuUsPerRequest.nginx}, pg ${cpuUsPerRequest.postgres}, redis ${cpuUsPerRequest.redis}, loadgen ${cpuUsPerRequest.loadgen}`,
  );
  await new Promise((r) => setTimeout(r, 1_000));
  return { id, name, stats, cpuUsPerRequest };
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
  log(`bench: server from ${serverRoot}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const services = startServices(REPO);
  const databaseUrl = await freshDatabase(services, DB_NAME);
  const redisUrl = new URL(services.redisUrl);
  redisUrl.pathname = '/3';
  const prefix = 'carebox-bench';
  const plan = await planForThisHost();
  const serverPort = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, ...renderedBackendEnv(serverRoot, plan, { databaseUrl, redisUrl: redisUrl.toString(), port: serverPort, prefix }) };
  for (const kv of args['server-env'] ?? []) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  // Not allowed in NODE_OPTIONS; cluster workers inherit the primary's execArgv.
  const profileArgs = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(logDir, 'profiles')}`] : [];
  const toolEnv = { ...env, LOG_LEVEL: 'warn', NODE_OPTIONS: '' };

  log('bench: migrating and seeding the bench database');
  await runToEnd([process.execPath, join(REPO, 'dist/server/src/migrate.js')], toolEnv);
  const password = randomBytes(24).toString('base64url');
  await runToEnd(
    [process.execPath, join(REPO, 'dist/server/src/demo-data.js'), '--patients', String(PATIENTS), '--tenant', TENANT, '--clinicians', '40', '--users', '1', '--password-stdin'],
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

  const nginxPort = await freePort();
  const nginxDir = join(logDir, 'nginx');
  const nginxConf = await writeHostNginxConfig(serverRoot, plan, nginxDir, nginxPort, `127.0.0.1:${serverPort}`);
  const nginx = startProcess(['nginx', '-p', nginxDir, '-c', nginxConf, '-g', 'daemon off;'], process.env, join(logDir, 'nginx.log'));
  procs.push(nginx);
  accounted.nginx = [nginx.child.pid!];
  const edge = `http://127.0.0.1:${nginxPort}`;
  await waitFor(`${edge}/health`);

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
  const data: MixData = { mrnPrefix, patientCount: PATIENTS, hotPatientIds: hot, clinicianIds: [...clinicianIds] };
  const auth = { authorization: `Bearer ${token}` };
  const searches: LoadRequest[] = ['alex synthetica', 'casey demoson', 'dana placeholder', 'eli mockwell', 'gale sampleton', 'harper fixture', 'jules stubbs', 'kai replica'].map((q) => ({
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
    if (wanted('d')) rows.push(await measure('d', 'cache-hot patient read', { url: direct, connections: c, requests: hot.map((id) => ({ method: 'GET', path: `${API}/patients/${id}`, headers: auth })) }));
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
    if (wanted('g')) rows.push(await measure('g', 'read mix (MRN search, cold read, hot read, appointment list)', { url: direct, connections: c, perConnection: () => mixRequests(token, data, { book: false }) }));
  }

  const primaryPid = server.child.pid!;
  const workers = childPids(primaryPid).flatMap((pid) => {
    const m = residentMemory(pid);
    return m ? [{ pid, ...m }] : [];
  });
  const primaryRssBytes = residentMemory(primaryPid)?.rssBytes ?? null;
  await stopAll();

  log('bench: timing `carebox plan --json`');
  const planRuns: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const started = process.hrtime.bigint();
    execFileSync(process.execPath, [join(serverRoot, 'dist/console/cli.js'), 'plan', '--json'], { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, CAREBOX_DIR: join(logDir, 'no-install') } });
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
