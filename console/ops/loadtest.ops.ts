/**
 * `carebox loadtest`: measures how many active staff this install serves under its workload
 * profile, through its own nginx, on loopback, and records the proven figure in carebox.json.
 *
 * 1. Synthetic data in a tenant of its own (`lt-xxxxxx`): patients, clinicians and clerk accounts
 *    that can sign in, created by the server's demo-data CLI in a one-off backend container. The
 *    clerks' random password goes to it on stdin (never argv or env, which `ps` and
 *    `docker inspect` show) and exists only in this process.
 * 2. Up to SESSIONS accounts sign in (through nginx, a few at a time, honouring 429 Retry-After);
 *    virtual staff share these sessions (a session costs the server one Redis key, not CPU).
 * 3. Open model (loadtest.open.ts, loadtest.rate.ts): the profile's actions arrive at a fixed rate,
 *    latency from each request's intended start; the rate doubles until p95 > 200 ms or errors
 *    > 0.1 %, then bisects: X*, the highest sustained action rate, with R (mean action time).
 *    Active staff N = X* × (R + Z) (Little's law).
 * 4. Proof: a closed-loop run of N virtual staff, each pausing a think time drawn from the profile
 *    between actions, for at least 60 s. If p95 or errors do not hold, it tries 15 % and then 30 %
 *    fewer staff (PROOF_SHARES); only a proven N is recorded.
 * 5. Saturation (unless --no-saturation): the closed-loop ramp without pauses (loadtest.ramp.ts),
 *    reported as "saturation: N connections without pause".
 * 6. Always, even after a failure: every session is ended and the tenant's synthetic data removed
 *    (`demo-data.js --remove --tenant …`). Real records are never read or changed. Their audit
 *    events stay: the trail is append-only.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ExitCode, InterruptedError, OperationError, UsageError } from '../../installer/errors.js';
import { requireManifest, writeManifest, type Manifest } from '../../installer/manifest/manifest.js';
import { utcStamp } from '../../installer/apply/fs.atomic.js';
import type { MeasuredCapacity } from '../../installer/plan/plan.types.js';
import { planProfile } from '../../installer/plan/capacity.estimate.js';
import { effectiveThinkTimeS, requestsPerAction, sampleThinkTimeS, type WorkloadProfile } from '../../installer/plan/workload.profile.js';
import { isLoopbackHost, runLoad, type LoadStats } from './loadtest.load.js';
import { API, mixRequests, SlotAllocator, syntheticMrn, type MixData } from './loadtest.mix.js';
import { bisectLevel, ERROR_RATE_LIMIT, judgeLevel, MAX_REFINEMENTS, P95_LIMIT_MS, rampLevels, sustainedLevel, type LevelResult } from './loadtest.ramp.js';
import { runOpenLoad, runStaffLoad, type OpenStats } from './loadtest.open.js';
import { bisectRate, judgeProof, judgeRate, littleStaff, MAX_RATE_REFINEMENTS, proofStaffLevels, RATE_LIMITS, rateLevels } from './loadtest.rate.js';
import { ActionFactory } from './loadtest.actions.js';
import { withStackLock, type Stack } from './stack.js';
import { edgeUrls } from '../../installer/apply/edge.tls.js';
import { DIRECT_DB_ENV, serverCommand } from '../../installer/apply/server.cli.js';

/** Cache-hot patients the mix reads. */
const HOT_PATIENTS = 20;
/** Accounts signed in at most; virtual staff and connections share their sessions. */
export const SESSIONS = 200;
/** Sign-ins running at once: below the default LOGIN_RATE_LIMIT_MAX (10), which counts them while they run. */
const LOGIN_CONCURRENCY = 4;

/** Options of {@link runLoadtest}. */
export interface LoadtestOptions {
  /** Seconds each arrival rate (and saturation level) runs. */
  durationS: number;
  /** The highest arrival rate tried, actions/s. */
  maxRate: number;
  /** Seconds of the proof run (≥ 60). */
  proofS: number;
  /** Run the closed-loop saturation ramp (no think time) after the proof; its highest level. */
  saturation: boolean;
  saturationMax: number;
  /** The workload profile (default: the installed plan's). */
  profile?: WorkloadProfile;
}

/** What the load test reports while it runs (the UI draws it, or plain lines go to stderr). */
export interface LoadtestReporter {
  /** A setup or clean-up phase began (one line). */
  phase(message: string): void;
  /** Step `index` (0-based) of about `planned` starts: `label` says what runs (a rate, staff, connections). */
  levelStart(label: string, index: number, planned: number, durationS: number): void;
  /** About once a second during a step. */
  tick(elapsedS: number, responses: number): void;
  levelDone(level: LevelSummary): void;
}

/** One step as reported: an arrival rate (open), the proof (staff) or a saturation level (connections). */
export interface LevelSummary {
  kind: 'rate' | 'proof' | 'saturation';
  /** actions/s (rate), virtual staff (proof) or connections (saturation). */
  load: number;
  label: string;
  requests: number;
  requestsPerSecond: number;
  actionsPerSecond: number | null;
  /** R: mean action time, s (null for saturation levels). */
  responseTimeS: number | null;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  errors: { total: number; rate: number; socket: number; timeouts: number; non2xx: number; statusCodes: Record<string, number> };
  sustained: boolean;
  reason: string | null;
}

/** The result of a load test. Every figure of the issue is a field: X*, R, Z, N, requests per action, p50/p95/p99, errors, host, tier. */
export interface LoadtestResult {
  /** The edge the load went through. */
  url: string;
  tier: string;
  host: { cpus: number; memoryBytes: number; nodes: number };
  durationS: number;
  maxRate: number;
  criteria: { p95LimitMs: number; errorRateLimit: number };
  profile: WorkloadProfile;
  /** Requests of each action type, e.g. `find-patient: GET /patients?q → …`. */
  mix: string[];
  /** X*: the highest sustained action rate, actions/s (0 when none was). */
  xStar: number;
  /** Requests/s at X*. */
  requestsPerSecond: number;
  /** R: mean response time of an action at X*, s. */
  responseTimeS: number;
  /** Z: mean think time of the profile (as drawn), s. */
  thinkTimeS: number;
  requestsPerAction: number;
  /** N = X* × (R + Z). */
  activeStaff: number;
  /** Request latency at X*, from each request's intended start. */
  latencyMs: { p50: number; p95: number; p99: number };
  /** Errors at X*. */
  errors: { total: number; rate: number };
  /** Every step in the order run. */
  levels: LevelSummary[];
  stoppedBecause: string;
  /** The closed-loop runs of virtual staff with think time; the last one decides. */
  proof: {
    staff: number;
    durationS: number;
    actionsPerSecond: number;
    requestsPerSecond: number;
    /** R of the proof: mean time of an action, s. */
    responseTimeS: number;
    p50Ms: number;
    p95Ms: number;
    p99Ms: number;
    errors: number;
    errorRate: number;
    held: boolean;
    reason: string | null;
  }[];
  /** Closed-loop connections without pause sustained at p95 ≤ 200 ms (null when skipped). */
  saturation: { connections: number; requestsPerSecond: number; p95Ms: number; stoppedBecause: string } | null;
  /** What went into carebox.json (plan.capacity.measured), or null with the reason. */
  measured: MeasuredCapacity | null;
  notRecordedBecause: string | null;
  /** The planner's estimate for this install, for comparison. */
  estimate: { concurrentUsers: [number, number]; requestsPerSecond: [number, number] | null; unit: string; basis: string };
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

/** Sizes of the synthetic data set for `sessions` accounts. Pure. */
export function syntheticSizes(sessions: number): { patients: number; clinicians: number; users: number } {
  return {
    patients: Math.min(20_000, Math.max(2_000, sessions * 20)),
    clinicians: Math.min(200, Math.max(10, Math.ceil(sessions / 5))),
    users: sessions,
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

/** Summary of one closed-loop saturation level. Pure. */
export function summarizeLevel(l: LevelResult): LevelSummary {
  const s = l.stats;
  return {
    kind: 'saturation',
    load: l.users,
    label: `${l.users} connections without pause`,
    requests: s.requests,
    requestsPerSecond: s.requestsPerSecond,
    actionsPerSecond: null,
    responseTimeS: null,
    latencyMs: { p50: s.latency.p50, p95: s.latency.p95, p99: s.latency.p99, max: s.latency.max },
    errors: { ...s.errors, rate: Math.round(s.errors.rate * 1e6) / 1e6 },
    sustained: l.sustained,
    reason: l.reason,
  };
}

/** Summary of one open-model rate or proof run. Pure. */
export function summarizeOpen(kind: 'rate' | 'proof', s: OpenStats, verdict: { ok: boolean; reason: string | null }): LevelSummary {
  const load = kind === 'rate' ? (s.targetRatePerS ?? 0) : (s.staff ?? 0);
  return {
    kind,
    load,
    label: kind === 'rate' ? `${load} actions/s` : `${load} virtual staff with think time`,
    requests: s.requests,
    requestsPerSecond: s.requestsPerSecond,
    actionsPerSecond: s.actionsPerSecond,
    responseTimeS: s.actionResponseTimeS,
    latencyMs: { p50: s.latency.p50, p95: s.latency.p95, p99: s.latency.p99, max: s.latency.max },
    errors: { ...s.errors, rate: Math.round(s.errors.rate * 1e6) / 1e6 },
    sustained: verdict.ok,
    reason: verdict.reason,
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
  if (!r.ok)
    throw new OperationError(
      `GET ${new URL(url).pathname}: HTTP ${r.status} ${body?.error?.code ?? ''}`.trim(),
      'check `carebox status` and `carebox logs backend`',
    );
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
  const L = RATE_LIMITS;
  const inRange = (x: number, r: { min: number; max: number }): boolean => Number.isFinite(x) && x >= r.min && x <= r.max;
  if (!inRange(options.durationS, L.durationS)) throw new UsageError(`--duration must be between ${L.durationS.min} and ${L.durationS.max} seconds`);
  if (!inRange(options.maxRate, L.maxRate)) throw new UsageError(`--max-rate must be between ${L.maxRate.min} and ${L.maxRate.max} actions per second`);
  if (!inRange(options.proofS, L.proofS)) throw new UsageError(`--proof-duration must be between ${L.proofS.min} and ${L.proofS.max} seconds`);
  if (!(Number.isInteger(options.saturationMax) && inRange(options.saturationMax, L.saturationMax)))
    throw new UsageError(`--saturation-max must be between ${L.saturationMax.min} and ${L.saturationMax.max}`);
  const files = openFilesLimit();
  const need = 512 + (options.saturation ? options.saturationMax : 0) + 200;
  if (files !== null && need > files)
    throw new UsageError(
      `the load test needs about ${need} open files; this shell allows ${files}`,
      `raise it with \`ulimit -n ${need + 1024}\`, or lower --saturation-max`,
    );
}

/** One sustained or failed arrival rate of the open model. */
interface RateRun {
  rate: number;
  stats: OpenStats;
  sustained: boolean;
}

/**
 * Runs the phases of {@link runLoadtest} in order (synthetic data, sign-in, open model, proof,
 * saturation, clean-up, record) and returns the report. The clean-up always runs; an interruption
 * surfaces after it as InterruptedError.
 * @throws OperationError when the stack is not ready, a phase fails, or the clean-up failed (with
 *   the report attached as `result`); InterruptedError on Ctrl-C or SIGTERM.
 */
async function measure(stack: Stack, options: LoadtestOptions, reporter: LoadtestReporter): Promise<LoadtestResult> {
  const run = new LoadtestRun(stack, options, reporter);
  await run.requireReady();
  const stopSignals = run.onSignals();
  try {
    await run.createSyntheticData();
    const { data, slots } = await run.findSyntheticRecords();
    const actions = new ActionFactory(run.profile, data, slots);
    await run.signIn(SESSIONS);
    await run.openModel(actions);
    await run.prove(actions);
    if (options.saturation) await run.saturationRamp(data, slots);
  } catch (err) {
    // An interruption surfaces below, once the clean-up has run and its outcome is known.
    if (!run.abort.signal.aborted) throw err;
  } finally {
    await run.cleanUp();
    stopSignals();
  }
  run.throwIfInterrupted();
  const result = run.report(await run.record());
  if (run.synthetic.cleanupError !== null) {
    throw Object.assign(new OperationError(`the load test ran, but its synthetic data could not be removed: ${run.synthetic.cleanupError}`), { result });
  }
  return result;
}

/** The state one load test shares between its phases. */
class LoadtestRun {
  readonly profile: WorkloadProfile;
  readonly thinkTimeS: number;
  readonly rpa: number;
  readonly base: string;
  readonly tenant = `lt-${randomBytes(4).toString('hex').slice(0, 6)}`;
  private readonly password = randomBytes(24).toString('base64url');
  private readonly sizes = syntheticSizes(SESSIONS);
  readonly synthetic: LoadtestResult['syntheticData'];
  readonly abort = new AbortController();
  /** The command that removes the synthetic data by hand (printed when the clean-up cannot). */
  readonly removeCommand: string;
  private readonly tokens: string[] = [];
  private nextToken = 0;
  private readonly levels: LevelSummary[] = [];
  private readonly rates: RateRun[] = [];
  private readonly proofs: LoadtestResult['proof'] = [];
  private saturation: LoadtestResult['saturation'] = null;
  private signInSeconds = 0;
  private stoppedBecause = '';

  constructor(
    private readonly stack: Stack,
    private readonly options: LoadtestOptions,
    private readonly reporter: LoadtestReporter,
  ) {
    this.profile = options.profile ?? planProfile(stack.manifest.plan);
    this.thinkTimeS = Math.round(effectiveThinkTimeS(this.profile) * 100) / 100;
    this.rpa = Math.round(requestsPerAction(this.profile) * 100) / 100;
    this.base = edgeUrl(stack.manifest);
    this.synthetic = { tenant: this.tenant, created: { patients: 0, clinicians: 0, users: 0 }, removed: null, cleanupError: null };
    this.removeCommand = `cd ${stack.root} && docker compose -p ${stack.manifest.project} run --rm --no-deps -T ${Object.entries(DIRECT_DB_ENV)
      .map(([k, v]) => `-e ${k}=${v}`)
      .join(' ')} backend ${serverCommand('demoData', ['--remove', '--tenant', this.tenant]).join(' ')}`;
  }

  /** @throws OperationError when the stack's /ready does not answer 200. */
  async requireReady(): Promise<void> {
    const ready = await fetch(`${this.base}/ready`, { signal: AbortSignal.timeout(10_000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (ready !== 200)
      throw new OperationError(
        `the stack is not ready (${this.base}/ready answered ${ready === 0 ? 'nothing' : ready})`,
        'check `carebox status`; run the load test on a healthy stack',
      );
  }

  /**
   * Ctrl-C (or SIGTERM) stops the running step and goes straight to the clean-up; a second one
   * leaves at once and prints the command that removes the synthetic data. Returns the function
   * that takes the handlers off again.
   */
  onSignals(): () => void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.abort.signal.aborted) {
        process.stderr.write(`\ncarebox loadtest: left without removing tenant ${this.tenant}'s synthetic data; remove it with:\n  ${this.removeCommand}\n`);
        process.exit(ExitCode.Interrupted);
      }
      this.abort.abort(signal);
      this.reporter.phase(
        `interrupted (${signal}): stopping the load and removing tenant ${this.tenant}'s synthetic data; press Ctrl-C again to leave it behind`,
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }

  /** @throws InterruptedError once the run was interrupted. */
  checkpoint(): void {
    if (this.abort.signal.aborted) throw new InterruptedError('the load test was interrupted; nothing was recorded');
  }

  /** @throws InterruptedError (after the clean-up) saying whether the synthetic data is gone. */
  throwIfInterrupted(): void {
    if (!this.abort.signal.aborted) return;
    const { cleanupError } = this.synthetic;
    throw new InterruptedError(
      `the load test was interrupted; nothing was recorded in carebox.json; ${cleanupError === null ? `tenant ${this.tenant}'s synthetic data was removed` : `tenant ${this.tenant}'s synthetic data could NOT be removed`}`,
      cleanupError === null ? null : `remove it with: ${this.removeCommand}`,
    );
  }

  /** The next session token, round robin. */
  private readonly token = (): string => this.tokens[this.nextToken++ % this.tokens.length]!;

  /** Runs the server's demo-data CLI in a one-off backend container; its last JSON line. */
  private async demoData(args: string[], input?: string): Promise<Record<string, any>> {
    const r = await this.stack.compose.runOnce(
      'backend',
      serverCommand('demoData', args),
      { ...DIRECT_DB_ENV },
      undefined,
      input === undefined ? {} : { input },
    );
    const line = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop();
    try {
      if (line) return JSON.parse(line) as Record<string, any>;
    } catch {
      // fall through
    }
    throw new OperationError('the demo-data CLI printed no result', 'the server image may be older than this Carebox; rebuild it with `carebox upgrade`');
  }

  /** Patients, clinicians and clerk accounts in the run's own tenant (the password on stdin). */
  async createSyntheticData(): Promise<void> {
    const { sizes } = this;
    this.reporter.phase(
      `creating synthetic data in tenant ${this.tenant}: ${sizes.patients} patients, ${sizes.clinicians} clinicians, ${sizes.users} clerk accounts`,
    );
    this.checkpoint();
    const created = await this.demoData(
      [
        '--patients',
        String(sizes.patients),
        '--tenant',
        this.tenant,
        '--clinicians',
        String(sizes.clinicians),
        '--appointments-per-patient',
        '1',
        '--users',
        String(sizes.users),
        '--password-stdin',
      ],
      `${this.password}\n`,
    );
    this.synthetic.created = {
      patients: Number(created.patients?.created ?? 0),
      clinicians: Number(created.clinicians?.created ?? 0),
      users: Number(created.users?.created ?? 0) + Number(created.users?.existing ?? 0),
    };
  }

  /** Signs in synthetic clerks through nginx until `wantedCount` sessions exist (honouring 429 Retry-After). */
  async signIn(wantedCount: number): Promise<void> {
    const count = Math.min(wantedCount, SESSIONS);
    if (this.tokens.length >= count) return;
    const started = Date.now();
    const wanted = Array.from({ length: count - this.tokens.length }, (_, k) => this.tokens.length + k + 1);
    const got = new Map<number, string>();
    await pool(wanted, LOGIN_CONCURRENCY, async (i) => {
      for (let attempt = 0; ; attempt += 1) {
        this.checkpoint();
        const r = await post(`${this.base}${API}/auth/login`, { username: loadtestUsername(this.tenant, i), password: this.password });
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
    for (const i of wanted) this.tokens.push(got.get(i)!);
    this.signInSeconds += (Date.now() - started) / 1000;
    this.checkpoint();
  }

  /** The hot patients' ids and the clinicians to book with, read back through the API. */
  async findSyntheticRecords(): Promise<{ data: MixData; slots: SlotAllocator }> {
    this.reporter.phase('signing in the first virtual users and finding the synthetic records');
    await this.signIn(1);
    const { base, sizes } = this;
    const mrnPrefix = `${this.tenant.toUpperCase()}-`;
    const hot: string[] = [];
    for (let i = 1; i <= Math.min(HOT_PATIENTS, sizes.patients); i += 1) {
      const page = await getJson(`${base}${API}/patients?q=${encodeURIComponent(syntheticMrn(mrnPrefix, i))}&limit=5`, this.tokens[0]!);
      const p = page?.items?.[0];
      if (!p || p.isSynthetic !== true || p.mrn !== syntheticMrn(mrnPrefix, i)) {
        throw new OperationError(
          `synthetic patient ${syntheticMrn(mrnPrefix, i)} was not found as expected`,
          'the server image may be older than this Carebox; rebuild it with `carebox upgrade`',
        );
      }
      hot.push(p.id);
    }
    const clinicianIds = new Set<string>();
    for (const id of hot)
      for (const a of (await getJson(`${base}${API}/appointments?patientId=${id}&limit=10`, this.tokens[0]!)).items ?? []) clinicianIds.add(a.clinicianId);
    if (clinicianIds.size === 0)
      throw new OperationError(
        'no synthetic clinician was found to book with',
        'the server image may be older than this Carebox; rebuild it with `carebox upgrade`',
      );
    const data: MixData = { mrnPrefix, patientCount: sizes.patients, hotPatientIds: hot, clinicianIds: [...clinicianIds] };
    return { data, slots: new SlotAllocator(data.clinicianIds) };
  }

  /** One arrival rate for --duration seconds (random arrivals); whether it was sustained. */
  private async runRate(actions: ActionFactory, rate: number, index: number, planned: number): Promise<boolean> {
    const { durationS } = this.options;
    this.reporter.levelStart(`${rate} actions/s`, index, planned, durationS);
    const stats = await runOpenLoad({
      url: this.base,
      ratePerS: rate,
      durationS,
      arrivals: 'random',
      nextAction: () => actions.next(this.token()),
      onTick: (e, r) => this.reporter.tick(e, r),
      signal: this.abort.signal,
    });
    this.checkpoint();
    const v = judgeRate(stats);
    this.rates.push({ rate, stats, sustained: v.sustained });
    const summary = summarizeOpen('rate', stats, { ok: v.sustained, reason: v.reason });
    this.levels.push(summary);
    this.reporter.levelDone(summary);
    return v.sustained;
  }

  /** Open model: a warm-up, then the arrival rate doubled until one is not sustained, then bisected. */
  async openModel(actions: ActionFactory): Promise<void> {
    const { durationS, maxRate } = this.options;
    const planned = rateLevels(maxRate);
    this.reporter.phase(
      `warming up at ${planned[0]} actions/s (${this.profile.name}: ${this.rpa} requests per action, think time ${this.profile.thinkTime.meanS} s)`,
    );
    await runOpenLoad({
      url: this.base,
      ratePerS: planned[0]!,
      durationS: Math.min(3, durationS),
      nextAction: () => actions.next(this.token()),
      signal: this.abort.signal,
    });
    this.checkpoint();
    let good = 0;
    let bad: number | null = null;
    for (const [index, rate] of planned.entries()) {
      if (await this.runRate(actions, rate, index, planned.length)) good = rate;
      else {
        bad = rate;
        this.stoppedBecause = `${this.levels[this.levels.length - 1]!.reason} at ${rate} actions/s`;
        break;
      }
    }
    if (bad === null) {
      this.stoppedBecause = `reached --max-rate ${maxRate} with every rate sustained`;
      return;
    }
    for (let r = 0; r < MAX_RATE_REFINEMENTS; r += 1) {
      const mid = bisectRate(good, bad);
      if (mid === null) break;
      if (await this.runRate(actions, mid, this.levels.length, this.levels.length + 1)) good = mid;
      else bad = mid;
    }
  }

  /** The highest sustained rate (X*), or null. */
  private topRate(): RateRun | null {
    return this.rates.filter((x) => x.sustained).sort((a, b) => b.rate - a.rate)[0] ?? null;
  }

  /** Proof: N virtual staff with think time, closed loop, at PROOF_SHARES of N until one holds. */
  async prove(actions: ActionFactory): Promise<void> {
    const best = this.topRate();
    const openStaff = best ? littleStaff(best.stats.actionsPerSecond, best.stats.actionResponseTimeS, this.thinkTimeS) : 0;
    for (const staff of proofStaffLevels(openStaff)) {
      this.reporter.levelStart(
        `proof: ${staff} virtual staff, think time ${this.profile.thinkTime.meanS} s`,
        this.levels.length,
        this.levels.length + 1,
        this.options.proofS,
      );
      const stats = await runStaffLoad({
        url: this.base,
        staff,
        durationS: this.options.proofS,
        nextAction: () => actions.next(this.token()),
        thinkTimeS: () => sampleThinkTimeS(this.profile),
        onTick: (e, r) => this.reporter.tick(e, r),
        signal: this.abort.signal,
      });
      this.checkpoint();
      const v = judgeProof(stats);
      const summary = summarizeOpen('proof', stats, { ok: v.held, reason: v.reason });
      this.levels.push(summary);
      this.reporter.levelDone(summary);
      this.proofs.push({
        staff,
        durationS: stats.durationS,
        actionsPerSecond: stats.actionsPerSecond,
        responseTimeS: stats.actionResponseTimeS,
        requestsPerSecond: stats.requestsPerSecond,
        p50Ms: stats.latency.p50,
        p95Ms: stats.latency.p95,
        p99Ms: stats.latency.p99,
        errors: stats.errors.total,
        errorRate: Math.round(stats.errors.rate * 1e6) / 1e6,
        held: v.held,
        reason: v.reason,
      });
      if (v.held) break;
    }
  }

  /** Saturation: the closed-loop ramp without pause (what the old figure was), then bisected. */
  async saturationRamp(data: MixData, slots: SlotAllocator): Promise<void> {
    const { durationS, saturationMax } = this.options;
    const satLevels: LevelResult[] = [];
    const runLevel = async (users: number, index: number, planned: number): Promise<LevelResult> => {
      this.reporter.levelStart(`${users} connections without pause`, index, planned, durationS);
      const stats: LoadStats = await runLoad({
        url: this.base,
        connections: users,
        durationS,
        perConnection: (i) => mixRequests(this.tokens[i % this.tokens.length]!, data, { book: true, slots }),
        onTick: (elapsed, responses) => this.reporter.tick(elapsed, responses),
        signal: this.abort.signal,
      });
      this.checkpoint();
      const verdict = judgeLevel(stats);
      const level: LevelResult = { users, stats, sustained: verdict.sustained, reason: verdict.reason };
      satLevels.push(level);
      const summary = summarizeLevel(level);
      this.levels.push(summary);
      this.reporter.levelDone(summary);
      return level;
    };
    const planned = rampLevels(saturationMax);
    let good = 0;
    let bad: number | null = null;
    let why = `reached --saturation-max ${saturationMax} with every level sustained`;
    for (const [index, users] of planned.entries()) {
      const level = await runLevel(users, index, planned.length);
      if (level.sustained) good = users;
      else {
        bad = users;
        why = `${level.reason} at ${users} connections`;
        break;
      }
    }
    for (let r = 0; bad !== null && r < MAX_REFINEMENTS; r += 1) {
      const mid = bisectLevel(good, bad);
      if (mid === null) break;
      const level = await runLevel(mid, satLevels.length, satLevels.length + 1);
      if (level.sustained) good = mid;
      else bad = mid;
    }
    const best = sustainedLevel(satLevels);
    this.saturation = {
      connections: best?.users ?? 0,
      requestsPerSecond: best?.stats.requestsPerSecond ?? 0,
      p95Ms: best?.stats.latency.p95 ?? 0,
      stoppedBecause: why,
    };
  }

  /** Ends every session and removes the tenant's synthetic data; a failure is kept in `synthetic.cleanupError`. */
  async cleanUp(): Promise<void> {
    this.reporter.phase(`ending ${this.tokens.length} session(s) and removing tenant ${this.tenant}'s synthetic data`);
    await pool(this.tokens, 16, async (t) => {
      await post(`${this.base}${API}/auth/logout`, undefined, t).catch(() => undefined);
    });
    try {
      const removed = await this.demoData(['--remove', '--tenant', this.tenant]);
      this.synthetic.removed = (removed.removed ?? null) as Record<string, number> | null;
    } catch (err) {
      this.synthetic.cleanupError = `${(err as Error).message} — remove it with: ${this.removeCommand}`;
    }
  }

  /**
   * Writes the proven figure into carebox.json (plan.capacity.measured), or says why not. The
   * proof's own figures: the action rate and R that its N staff produced, converted back by
   * Little's law (a closed loop obeys it: within a percent or two of N), as `plan` converts them.
   */
  async record(): Promise<{ measured: MeasuredCapacity | null; notRecordedBecause: string | null }> {
    const top = this.topRate();
    const proven = this.proofs.find((p) => p.held) ?? null;
    if (top === null) {
      const lowest = [...this.rates].sort((a, b) => a.rate - b.rate)[0];
      return {
        measured: null,
        notRecordedBecause: `not even ${lowest?.rate ?? 0} actions/s were sustained (${lowest ? judgeRate(lowest.stats).reason : 'no rate ran'})`,
      };
    }
    if (proven === null) {
      const why = this.proofs.map((p) => `${p.staff} virtual staff: ${p.reason}`).join('; ') || 'no proof ran';
      return { measured: null, notRecordedBecause: `the proof did not hold: ${why}` };
    }
    const measured: MeasuredCapacity = {
      concurrentUsers: littleStaff(proven.actionsPerSecond, proven.responseTimeS, this.thinkTimeS),
      actionsPerSecond: proven.actionsPerSecond,
      requestsPerSecond: proven.requestsPerSecond,
      responseTimeS: proven.responseTimeS,
      thinkTimeS: this.thinkTimeS,
      p95Ms: proven.p95Ms,
      saturationConnections: this.saturation?.connections ?? null,
      limitedByMaxRate: this.rates.every((x) => x.sustained),
      measuredAt: new Date().toISOString(),
    };
    const m = this.stack.manifest;
    const next: Manifest = { ...m, plan: { ...m.plan, capacity: { ...m.plan.capacity, measured } } };
    await writeManifest(this.stack.root, next, utcStamp());
    this.stack.manifest = next;
    return { measured, notRecordedBecause: null };
  }

  /** The whole report (`--json`). Pure over the run's state. */
  report(outcome: { measured: MeasuredCapacity | null; notRecordedBecause: string | null }): LoadtestResult {
    const m = this.stack.manifest;
    const top = this.topRate();
    const xStar = top?.stats.actionsPerSecond ?? 0;
    const responseTimeS = top?.stats.actionResponseTimeS ?? 0;
    return {
      url: `${this.base}/`,
      tier: m.plan.tier,
      host: { cpus: m.plan.host.cpus, memoryBytes: m.plan.host.memoryBytes, nodes: m.plan.nodes },
      durationS: this.options.durationS,
      maxRate: this.options.maxRate,
      criteria: { p95LimitMs: P95_LIMIT_MS, errorRateLimit: ERROR_RATE_LIMIT },
      profile: this.profile,
      mix: this.profile.actions.map((a) => `${a.name} (${Math.round(a.share * 100)} %, ${a.requests} request${a.requests > 1 ? 's' : ''}): ${a.description}`),
      xStar,
      requestsPerSecond: top?.stats.requestsPerSecond ?? 0,
      responseTimeS,
      thinkTimeS: this.thinkTimeS,
      requestsPerAction: this.rpa,
      activeStaff: littleStaff(xStar, responseTimeS, this.thinkTimeS),
      latencyMs: { p50: top?.stats.latency.p50 ?? 0, p95: top?.stats.latency.p95 ?? 0, p99: top?.stats.latency.p99 ?? 0 },
      errors: { total: top?.stats.errors.total ?? 0, rate: Math.round((top?.stats.errors.rate ?? 0) * 1e6) / 1e6 },
      levels: this.levels,
      stoppedBecause: this.stoppedBecause,
      proof: this.proofs,
      saturation: this.saturation,
      measured: outcome.measured,
      notRecordedBecause: outcome.notRecordedBecause,
      estimate: {
        concurrentUsers: m.plan.capacity.concurrentUsers,
        requestsPerSecond: m.plan.capacity.requestsPerSecond ?? null,
        unit: m.plan.capacity.unit ?? 'active staff',
        basis: m.plan.capacity.basis,
      },
      syntheticData: this.synthetic,
      signIns: { count: this.tokens.length, seconds: Math.round(this.signInSeconds * 10) / 10 },
    };
  }
}
