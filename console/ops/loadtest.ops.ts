/**
 * `carebox loadtest`: measures how many concurrent users this install serves at p95 ≤ 200 ms,
 * through its own nginx, on loopback, and records the figure in carebox.json.
 *
 * 1. Synthetic data in a tenant of its own (`lt-xxxxxx`): patients, clinicians and clerk accounts
 *    that can sign in, created by the server's demo-data CLI in a one-off backend container. The
 *    clerks' random password goes to it on stdin (never argv or env, which `ps` and
 *    `docker inspect` show) and exists only in this process.
 * 2. Each virtual user signs in once (through nginx, a few at a time, honouring 429 Retry-After;
 *    the server hands a synthetic account's successful sign-in back to the rate limiter).
 * 3. The ramp: each level runs the request mix of loadtest.mix.ts with that many closed-loop users
 *    for `durationS`, and is judged by loadtest.ramp.ts; the ramp stops at the first level that is
 *    not sustained, then bisects.
 * 4. Always, even after a failure: every session is ended and the tenant's synthetic data removed
 *    (`demo-data.js --remove --tenant …`). Real records are never read or changed: every request
 *    names a synthetic MRN, a record such a search returned (checked `isSynthetic`), or the
 *    tenant's clinicians. Their audit events stay: the trail is append-only.
 * 5. `plan.capacity.measured` in carebox.json gets the highest sustained level.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ExitCode, InterruptedError, OperationError, UsageError } from '../../installer/errors.js';
import { requireManifest, writeManifest, type Manifest } from '../../installer/manifest/manifest.js';
import { utcStamp } from '../../installer/apply/fs.atomic.js';
import type { PlanCapacity } from '../../installer/plan/plan.types.js';
import { isLoopbackHost, runLoad, type LoadStats } from './loadtest.load.js';
import { API, mixRequests, SlotAllocator, syntheticMrn, type MixData } from './loadtest.mix.js';
import { bisectLevel, ERROR_RATE_LIMIT, judgeLevel, LOADTEST_LIMITS, MAX_REFINEMENTS, P95_LIMIT_MS, rampLevels, sustainedLevel, type LevelResult } from './loadtest.ramp.js';
import { withStackLock, type Stack } from './stack.js';
import { edgeUrls } from '../../installer/apply/edge.tls.js';

/** Cache-hot patients the mix reads. */
const HOT_PATIENTS = 20;
/** Sign-ins running at once: below the default LOGIN_RATE_LIMIT_MAX (10), which counts them while they run. */
const LOGIN_CONCURRENCY = 4;
/** Environment of the one-off demo-data container: straight to PostgreSQL, as migrations run. */
const DIRECT_DB = ['-e', 'DATABASE_HOST=db', '-e', 'DATABASE_PORT=5432', '-e', 'DB_PGBOUNCER=false'];

/** Options of {@link runLoadtest}. */
export interface LoadtestOptions {
  /** Seconds each level runs. */
  durationS: number;
  /** The highest level tried (concurrent virtual users). */
  maxUsers: number;
}

/** What the ramp reports while it runs (the UI draws it, or plain lines go to stderr). */
export interface LoadtestReporter {
  /** A setup or clean-up phase began (one line). */
  phase(message: string): void;
  /** Level `index` (0-based) of about `planned` starts. */
  levelStart(users: number, index: number, planned: number, durationS: number): void;
  /** About once a second during a level. */
  tick(elapsedS: number, responses: number): void;
  levelDone(level: LevelResult): void;
}

/** One level as reported. */
export interface LevelSummary {
  users: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  errors: { total: number; rate: number; socket: number; timeouts: number; non2xx: number; statusCodes: Record<string, number> };
  sustained: boolean;
  reason: string | null;
}

/** The result of a load test. */
export interface LoadtestResult {
  /** The edge the users went through. */
  url: string;
  durationS: number;
  maxUsers: number;
  criteria: { p95LimitMs: number; errorRateLimit: number };
  mix: string[];
  /** Every level, in the order run. */
  levels: LevelSummary[];
  /** The highest sustained level, or null when not even the smallest was. */
  sustained: { concurrentUsers: number; requestsPerSecond: number; p50Ms: number; p95Ms: number; p99Ms: number; errors: number } | null;
  /** Why the ramp ended. */
  stoppedBecause: string;
  /** What went into carebox.json (plan.capacity.measured). */
  measured: NonNullable<PlanCapacity['measured']>;
  /** The planner's estimate for this install, for comparison. */
  estimate: { concurrentUsers: [number, number]; basis: string };
  syntheticData: {
    tenant: string;
    created: { patients: number; clinicians: number; users: number };
    /** What the clean-up removed (null when it failed; see cleanupError). */
    removed: Record<string, number> | null;
    cleanupError: string | null;
  };
  signIns: { count: number; seconds: number };
}

/** The loopback URL of the install's nginx. @throws UsageError when it listens on another address only. */
export function edgeUrl(m: Pick<Manifest, 'http'>): string {
  const bind = m.http.bindAddress;
  // Plain HTTP on this host: with TLS on, the edge keeps it on 127.0.0.1.
  const host = new URL(edgeUrls(m.http).internal).hostname;
  if (!isLoopbackHost(host)) {
    throw new UsageError(
      `nginx listens on ${bind} only; the load test runs on loopback only`,
      're-install with --bind 0.0.0.0 (all addresses, loopback included) or --bind 127.0.0.1 to load-test this host',
    );
  }
  return `http://${host}:${m.http.port}`;
}

/** Sizes of the synthetic data set for `maxUsers` users. Pure. */
export function syntheticSizes(maxUsers: number): { patients: number; clinicians: number; users: number } {
  return {
    patients: Math.min(20_000, Math.max(2_000, maxUsers * 20)),
    clinicians: Math.min(200, Math.max(10, Math.ceil(maxUsers / 5))),
    users: maxUsers,
  };
}

/** The soft limit of open files of this process, or null when unknown (/proc/self/limits). */
function openFilesLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Summary of one level's figures. Pure. */
export function summarizeLevel(l: LevelResult): LevelSummary {
  const s = l.stats;
  return {
    users: l.users,
    requests: s.requests,
    requestsPerSecond: s.requestsPerSecond,
    latencyMs: { p50: s.latency.p50, p95: s.latency.p95, p99: s.latency.p99, max: s.latency.max },
    errors: { ...s.errors, rate: Math.round(s.errors.rate * 1e6) / 1e6 },
    sustained: l.sustained,
    reason: l.reason,
  };
}

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; json: any; retryAfterS: number | null }> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  const ra = Number(r.headers.get('retry-after'));
  return { status: r.status, json, retryAfterS: Number.isFinite(ra) && ra > 0 ? ra : null };
}

async function getJson(url: string, token: string): Promise<any> {
  const r = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
  const body = (await r.json().catch(() => null)) as any;
  if (!r.ok) throw new OperationError(`GET ${new URL(url).pathname}: HTTP ${r.status} ${body?.error?.code ?? ''}`.trim(), 'check `carebox status` and `carebox logs backend`');
  return body;
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** The user name of synthetic account i (1-based): server/src/demo/demo-data.generator.ts's syntheticUsername. */
export function loadtestUsername(tenant: string, i: number): string {
  return `${tenant}-clerk-${String(i).padStart(5, '0')}`;
}

/**
 * Runs the load test against the installed stack and records the result in carebox.json.
 * @returns the result (the manifest on disk has `plan.capacity.measured` set).
 * @throws UsageError for out-of-range options or a non-loopback edge; OperationError when the
 *   stack is not ready or the synthetic data cannot be created (nothing is left behind).
 */
export async function runLoadtest(stack: Stack, options: LoadtestOptions, reporter: LoadtestReporter): Promise<LoadtestResult> {
  validateOptions(options);
  // Under the install root's operation lock: a scale or re-tier meanwhile would change what is
  // measured, and both write carebox.json.
  return withStackLock(stack.root, 'loadtest', async () => {
    const fresh = await requireManifest(stack.root);
    return measure({ ...stack, manifest: fresh }, options, reporter);
  });
}

/** @throws UsageError for out-of-range options or too few open files. */
function validateOptions(options: LoadtestOptions): void {
  const { durationS, maxUsers } = options;
  const L = LOADTEST_LIMITS;
  if (!(durationS >= L.durationS.min && durationS <= L.durationS.max)) throw new UsageError(`--duration must be between ${L.durationS.min} and ${L.durationS.max} seconds`);
  if (!(Number.isInteger(maxUsers) && maxUsers >= L.maxUsers.min && maxUsers <= L.maxUsers.max)) throw new UsageError(`--max-users must be between ${L.maxUsers.min} and ${L.maxUsers.max}`);
  const files = openFilesLimit();
  if (files !== null && maxUsers + 200 > files) throw new UsageError(`--max-users ${maxUsers} needs more open files than this shell allows (${files})`, `raise it with \`ulimit -n ${maxUsers + 1024}\`, or lower --max-users`);
}

async function measure(stack: Stack, options: LoadtestOptions, reporter: LoadtestReporter): Promise<LoadtestResult> {
  const { durationS, maxUsers } = options;
  const base = edgeUrl(stack.manifest);
  const ready = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.status, () => 0);
  if (ready !== 200) throw new OperationError(`the stack is not ready (${base}/ready answered ${ready === 0 ? 'nothing' : ready})`, 'check `carebox status`; run the load test on a healthy stack');

  const tenant = `lt-${randomBytes(4).toString('hex').slice(0, 6)}`;
  const password = randomBytes(24).toString('base64url');
  const sizes = syntheticSizes(maxUsers);
  const synthetic: LoadtestResult['syntheticData'] = { tenant, created: { patients: 0, clinicians: 0, users: 0 }, removed: null, cleanupError: null };
  const tokens: string[] = [];
  const levels: LevelResult[] = [];
  let signInSeconds = 0;
  let stoppedBecause = '';

  const demoData = async (args: string[], input?: string): Promise<Record<string, any>> => {
    const r = await stack.compose.run(['run', '--rm', '--no-deps', '-T', ...DIRECT_DB, 'backend', 'node', 'dist/server/src/demo-data.js', ...args], {
      timeoutMs: 10 * 60_000,
      ...(input === undefined ? {} : { input }),
    });
    const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    try {
      if (line) return JSON.parse(line) as Record<string, any>;
    } catch {
      // fall through
    }
    throw new OperationError('the demo-data CLI printed no result', 'the server image may be older than this Carebox; rebuild it with `carebox upgrade`');
  };

  // Ctrl-C (or SIGTERM) stops the running level and goes straight to the clean-up below; a second
  // one leaves at once and prints the command that removes the synthetic data.
  const removeCommand = `cd ${stack.root} && docker compose -p ${stack.manifest.project} run --rm --no-deps -T ${DIRECT_DB.join(' ')} backend node dist/server/src/demo-data.js --remove --tenant ${tenant}`;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (abort.signal.aborted) {
      process.stderr.write(`\ncarebox loadtest: left without removing tenant ${tenant}'s synthetic data; remove it with:\n  ${removeCommand}\n`);
      process.exit(ExitCode.Interrupted);
    }
    abort.abort(signal);
    reporter.phase(`interrupted (${signal}): stopping the load and removing tenant ${tenant}'s synthetic data; press Ctrl-C again to leave it behind`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const checkpoint = (): void => {
    if (abort.signal.aborted) throw new InterruptedError('the load test was interrupted; nothing was recorded');
  };

  try {
    reporter.phase(`creating synthetic data in tenant ${tenant}: ${sizes.patients} patients, ${sizes.clinicians} clinicians, ${sizes.users} clerk accounts`);
    checkpoint();
    const created = await demoData(
      ['--patients', String(sizes.patients), '--tenant', tenant, '--clinicians', String(sizes.clinicians), '--appointments-per-patient', '1', '--users', String(sizes.users), '--password-stdin'],
      `${password}\n`,
    );
    synthetic.created = {
      patients: Number(created.patients?.created ?? 0),
      clinicians: Number(created.clinicians?.created ?? 0),
      users: Number(created.users?.created ?? 0) + Number(created.users?.existing ?? 0),
    };

    const signIn = async (count: number): Promise<void> => {
      if (tokens.length >= count) return;
      const started = Date.now();
      const wanted = Array.from({ length: count - tokens.length }, (_, k) => tokens.length + k + 1);
      const got = new Map<number, string>();
      await pool(wanted, LOGIN_CONCURRENCY, async (i) => {
        for (let attempt = 0; ; attempt += 1) {
          checkpoint();
          const r = await post(`${base}${API}/auth/login`, { username: loadtestUsername(tenant, i), password });
          if (r.status === 200 && typeof r.json?.token === 'string') {
            got.set(i, r.json.token);
            return;
          }
          if ((r.status === 429 || r.status === 503) && attempt < 10) {
            await new Promise((res) => setTimeout(res, (r.retryAfterS ?? 1) * 1000));
            continue;
          }
          throw new OperationError(`sign-in of synthetic user ${i} failed: HTTP ${r.status} ${r.json?.error?.code ?? ''}`.trim(), 'check `carebox logs backend`');
        }
      });
      for (const i of wanted) tokens.push(got.get(i)!);
      signInSeconds += (Date.now() - started) / 1000;
      checkpoint();
    };

    reporter.phase('signing in the first virtual users and finding the synthetic records');
    await signIn(1);
    const mrnPrefix = `${tenant.toUpperCase()}-`;
    const hot: string[] = [];
    for (let i = 1; i <= Math.min(HOT_PATIENTS, sizes.patients); i += 1) {
      const page = await getJson(`${base}${API}/patients?q=${encodeURIComponent(syntheticMrn(mrnPrefix, i))}&limit=5`, tokens[0]!);
      const p = page?.items?.[0];
      if (!p || p.isSynthetic !== true || p.mrn !== syntheticMrn(mrnPrefix, i)) {
        throw new OperationError(`synthetic patient ${syntheticMrn(mrnPrefix, i)} was not found as expected`, 'the server image may be older than this Carebox; rebuild it with `carebox upgrade`');
      }
      hot.push(p.id);
    }
    const clinicianIds = new Set<string>();
    for (const id of hot) for (const a of (await getJson(`${base}${API}/appointments?patientId=${id}&limit=10`, tokens[0]!)).items ?? []) clinicianIds.add(a.clinicianId);
    if (clinicianIds.size === 0) throw new OperationError('no synthetic clinician was found to book with', 'the server image may be older than this Carebox; rebuild it with `carebox upgrade`');
    const data: MixData = { mrnPrefix, patientCount: sizes.patients, hotPatientIds: hot, clinicianIds: [...clinicianIds] };
    const slots = new SlotAllocator(data.clinicianIds);

    const runLevel = async (users: number, index: number, planned: number): Promise<LevelResult> => {
      await signIn(users);
      reporter.levelStart(users, index, planned, durationS);
      const stats: LoadStats = await runLoad({
        url: base,
        connections: users,
        durationS,
        perConnection: (i) => mixRequests(tokens[i % tokens.length]!, data, { book: true, slots }),
        onTick: (elapsed, responses) => reporter.tick(elapsed, responses),
        signal: abort.signal,
      });
      checkpoint();
      const verdict = judgeLevel(stats);
      const level: LevelResult = { users, stats, sustained: verdict.sustained, reason: verdict.reason };
      levels.push(level);
      reporter.levelDone(level);
      return level;
    };

    const planned = rampLevels(maxUsers);
    // Warm-up (JIT, pools, caches): a short run at the first level, not counted.
    await signIn(planned[0]!);
    reporter.phase(`warming up with ${planned[0]} users`);
    await runLoad({ url: base, connections: planned[0]!, durationS: Math.min(3, durationS), perConnection: (i) => mixRequests(tokens[i % tokens.length]!, data, { book: true, slots }), signal: abort.signal });
    checkpoint();

    let good = 0;
    let bad: number | null = null;
    for (const [index, users] of planned.entries()) {
      const level = await runLevel(users, index, planned.length);
      if (level.sustained) good = users;
      else {
        bad = users;
        stoppedBecause = `${level.reason} at ${users} users`;
        break;
      }
    }
    if (bad === null) stoppedBecause = `reached --max-users ${maxUsers} with every level sustained`;
    else {
      for (let r = 0; r < MAX_REFINEMENTS; r += 1) {
        const mid = bisectLevel(good, bad);
        if (mid === null) break;
        const level = await runLevel(mid, levels.length, levels.length + 1);
        if (level.sustained) good = mid;
        else bad = mid;
      }
    }
  } catch (err) {
    // An interruption surfaces below, once the clean-up has run and its outcome is known.
    if (!abort.signal.aborted) throw err;
  } finally {
    reporter.phase(`ending ${tokens.length} session(s) and removing tenant ${tenant}'s synthetic data`);
    await pool(tokens, 16, async (t) => {
      await post(`${base}${API}/auth/logout`, undefined, t).catch(() => undefined);
    });
    try {
      const removed = await demoData(['--remove', '--tenant', tenant]);
      synthetic.removed = (removed.removed ?? null) as Record<string, number> | null;
    } catch (err) {
      synthetic.cleanupError = `${(err as Error).message} — remove it with: ${removeCommand}`;
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (abort.signal.aborted) {
    throw new InterruptedError(
      `the load test was interrupted; nothing was recorded in carebox.json; ${synthetic.cleanupError === null ? `tenant ${tenant}'s synthetic data was removed` : `tenant ${tenant}'s synthetic data could NOT be removed`}`,
      synthetic.cleanupError === null ? null : `remove it with: ${removeCommand}`,
    );
  }

  const best = sustainedLevel(levels);
  const measured = {
    concurrentUsers: best?.users ?? 0,
    requestsPerSecond: best?.stats.requestsPerSecond ?? 0,
    p95Ms: best?.stats.latency.p95 ?? levels[0]?.stats.latency.p95 ?? 0,
    measuredAt: new Date().toISOString(),
    limitedByMaxUsers: best !== null && best !== undefined && levels.every((l) => l.sustained),
  };
  const m = stack.manifest;
  const next: Manifest = { ...m, plan: { ...m.plan, capacity: { ...m.plan.capacity, measured } } };
  await writeManifest(stack.root, next, utcStamp());
  stack.manifest = next;

  const result: LoadtestResult = {
    url: `${base}/`,
    durationS,
    maxUsers,
    criteria: { p95LimitMs: P95_LIMIT_MS, errorRateLimit: ERROR_RATE_LIMIT },
    mix: ['GET /api/v1/patients?q=<synthetic MRN>', 'GET /api/v1/patients/<found> (cold)', 'GET /api/v1/patients/<hot> (cache-hot)', 'GET /api/v1/appointments?patientId=<found>', 'POST /api/v1/appointments (a free slot)'],
    levels: levels.map(summarizeLevel),
    sustained: best
      ? {
          concurrentUsers: best.users,
          requestsPerSecond: best.stats.requestsPerSecond,
          p50Ms: best.stats.latency.p50,
          p95Ms: best.stats.latency.p95,
          p99Ms: best.stats.latency.p99,
          errors: best.stats.errors.total,
        }
      : null,
    stoppedBecause,
    measured,
    estimate: { concurrentUsers: m.plan.capacity.concurrentUsers, basis: m.plan.capacity.basis },
    syntheticData: synthetic,
    signIns: { count: tokens.length, seconds: Math.round(signInSeconds * 10) / 10 },
  };
  if (synthetic.cleanupError !== null) {
    throw Object.assign(new OperationError(`the load test ran, but its synthetic data could not be removed: ${synthetic.cleanupError}`), { result });
  }
  return result;
}
