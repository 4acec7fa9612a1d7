/**
 * Alerts of a stack that runs Alertmanager (`--alerts stack`): what is firing, a test notification
 * through the real delivery path, and silences. Alertmanager publishes no port: its API (v2) is
 * called from inside its own container with the image's `wget` (busybox in the official image).
 */
import type Docker from 'dockerode';
import { execIn } from '../../installer/runtime/container.exec.js';
import { OperationError } from '../../installer/errors.js';
import type { Manifest } from '../../installer/manifest/manifest.js';
import { listStackContainers } from '../../installer/runtime/stack.containers.js';
import { parsePrometheusText } from '../metrics/prom.parse.js';

/** One alert as Alertmanager reports it (API v2 `GET /alerts`, trimmed). */
export interface FiringAlert {
  name: string;
  severity: string;
  summary: string;
  description: string;
  /** ISO-8601 UTC. */
  startsAt: string;
  /** `active` or `suppressed` (silenced or inhibited). */
  state: string;
  labels: Record<string, string>;
}

/** Alertmanager's address inside its container. */
const API = 'http://127.0.0.1:9093/api/v2';

/**
 * The running Alertmanager container of a stack.
 * @throws OperationError when the stack runs no Alertmanager (`--alerts external` or `off`), or it is not running.
 */
export async function alertmanagerContainer(docker: Docker, m: Manifest): Promise<string> {
  if (!m.plan.sizing.monitoring) {
    const mode = m.intent.alerts ?? 'off';
    throw new OperationError(
      `this stack runs no Alertmanager (--alerts ${mode})`,
      mode === 'external'
        ? "alerts are evaluated by the hospital's own Prometheus: ask its Alertmanager (the rules are in monitoring/carebox.rules.yml)"
        : 'turn alerts on with `carebox install --yes --alerts stack`',
    );
  }
  const c = (await listStackContainers(docker, m.project)).find((x) => x.service === 'alertmanager' && x.state === 'running');
  if (!c) throw new OperationError('the alertmanager container is not running', 'see `carebox status`; `carebox restart alertmanager` starts it again');
  return c.id;
}

async function call(docker: Docker, id: string, path: string, body?: unknown): Promise<string> {
  // No -T: Debian's busybox wget (the stand-in) crashes with it; execIn's timeout bounds the call.
  const argv = ['wget', '-q', '-O', '-'];
  if (body !== undefined) argv.push('--header', 'Content-Type: application/json', '--post-data', JSON.stringify(body));
  argv.push(`${path.startsWith('http') ? path : API + path}`);
  const r = await execIn(docker, id, argv, { timeoutMs: 20_000 });
  if (r.code !== 0)
    throw new OperationError(
      `Alertmanager did not answer ${path.split('?')[0]} (wget exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`,
      'see `carebox logs alertmanager`',
    );
  return r.stdout;
}

/**
 * Alerts Alertmanager holds now, firing ones first, then by start time. Suppressed (silenced)
 * alerts are included with state `suppressed` only when `includeSilenced`.
 * @throws OperationError when Alertmanager cannot be reached (see alertmanagerContainer).
 */
export async function listAlerts(docker: Docker, m: Manifest, opts: { includeSilenced?: boolean } = {}): Promise<FiringAlert[]> {
  const id = await alertmanagerContainer(docker, m);
  const q = `/alerts?active=true&silenced=${opts.includeSilenced ? 'true' : 'false'}&inhibited=false&unprocessed=true`;
  const raw = JSON.parse(await call(docker, id, q)) as {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    startsAt?: string;
    status?: { state?: string };
  }[];
  return raw
    .map((a) => ({
      name: a.labels?.alertname ?? '(unnamed)',
      severity: a.labels?.severity ?? 'none',
      summary: a.annotations?.summary ?? '',
      description: a.annotations?.description ?? '',
      startsAt: a.startsAt ?? '',
      state: a.status?.state ?? 'active',
      labels: a.labels ?? {},
    }))
    .sort((x, y) => (x.severity === y.severity ? x.startsAt.localeCompare(y.startsAt) : x.severity === 'critical' ? -1 : y.severity === 'critical' ? 1 : 0));
}

/** Notifications sent and failed so far per integration (email, webhook), from Alertmanager's own metrics. */
async function notificationCounts(docker: Docker, id: string): Promise<Record<string, { sent: number; failed: number }>> {
  const text = await call(docker, id, 'http://127.0.0.1:9093/metrics');
  const out: Record<string, { sent: number; failed: number }> = {};
  for (const s of parsePrometheusText(text).samples) {
    const integration = s.labels.integration;
    if (!integration) continue;
    if (s.name === 'alertmanager_notifications_total') (out[integration] ??= { sent: 0, failed: 0 }).sent += s.value;
    if (s.name === 'alertmanager_notifications_failed_total') (out[integration] ??= { sent: 0, failed: 0 }).failed += s.value;
  }
  return out;
}

/** What a test notification did per configured integration. */
export interface TestNotificationResult {
  /** `email`, `webhook`: attempts and failures counted by Alertmanager for this test. */
  integrations: Record<string, { attempted: number; failed: number }>;
  /** True when every configured integration attempted and none failed before the deadline. */
  delivered: boolean;
}

/**
 * Send a test alert (`CareboxTest`, severity info, ends after 5 minutes) through Alertmanager, so
 * it goes out by the configured e-mail and webhook like a real one, and wait until Alertmanager
 * has tried every configured integration (its notification counters), up to `waitMs`.
 * @throws OperationError when Alertmanager is unreachable or no delivery is configured.
 */
export async function sendTestAlert(docker: Docker, m: Manifest, opts: { waitMs?: number; now?: Date } = {}): Promise<TestNotificationResult> {
  const configured = [...((m.alerts?.email.length ?? 0) > 0 ? ['email'] : []), ...(m.alerts?.webhookUrl ? ['webhook'] : [])];
  if (configured.length === 0) {
    throw new OperationError(
      'no alert delivery is configured: alerts show only in `carebox alerts` and the console',
      'set recipients with `carebox install --yes --alert-email ADDR` (mail goes through SMTP_URL in .env) or `--alert-webhook URL`',
    );
  }
  const id = await alertmanagerContainer(docker, m);
  const before = await notificationCounts(docker, id);
  const now = opts.now ?? new Date();
  await call(docker, id, '/alerts', [
    {
      labels: { alertname: 'CareboxTest', severity: 'info', carebox_project: m.project, test_id: String(now.getTime()) },
      annotations: { summary: 'Test notification from `carebox alerts test`', description: 'If you read this, Carebox alerts reach you. Nothing is wrong.' },
      startsAt: now.toISOString(),
      endsAt: new Date(now.getTime() + 5 * 60_000).toISOString(),
    },
  ]);
  const deadline = Date.now() + (opts.waitMs ?? 60_000);
  let result: TestNotificationResult = { integrations: {}, delivered: false };
  for (let i = 0; i < 600 && Date.now() < deadline; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const after = await notificationCounts(docker, id);
    const integrations: TestNotificationResult['integrations'] = {};
    for (const name of configured) {
      const a = after[name] ?? { sent: 0, failed: 0 };
      const b = before[name] ?? { sent: 0, failed: 0 };
      integrations[name] = { attempted: a.sent - b.sent, failed: a.failed - b.failed };
    }
    result = { integrations, delivered: configured.every((n) => integrations[n]!.attempted > 0 && integrations[n]!.failed === 0) };
    if (configured.every((n) => integrations[n]!.attempted > 0)) break;
  }
  return result;
}

/**
 * Silence an alert by name for `durationMs` (Alertmanager silence, matcher alertname=NAME).
 * @returns the silence id.
 * @throws OperationError when Alertmanager is unreachable.
 */
export async function silenceAlert(
  docker: Docker,
  m: Manifest,
  name: string,
  durationMs: number,
  by: string,
  comment: string,
  now = new Date(),
): Promise<string> {
  const id = await alertmanagerContainer(docker, m);
  const body = {
    matchers: [{ name: 'alertname', value: name, isRegex: false, isEqual: true }],
    startsAt: now.toISOString(),
    endsAt: new Date(now.getTime() + durationMs).toISOString(),
    createdBy: by,
    comment,
  };
  const r = JSON.parse(await call(docker, id, '/silences', body)) as { silenceID?: string };
  if (!r.silenceID) throw new OperationError('Alertmanager did not return a silence id');
  return r.silenceID;
}
