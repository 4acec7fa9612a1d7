/**
 * Rolling changes of a replicated service, with every step gated on Docker health.
 *
 * - {@link rollingReplace} (docker-rollout's approach on Compose v2): scale the service up with
 *   `up -d --no-recreate --scale svc=old+new`, so only the *new* containers get the new config
 *   while the old ones keep serving (never `--no-deps`: Compose 2.26 hashes depends_on, and
 *   `--no-deps` strips it, so the new containers would carry a hash a later `up` calls drift);
 *   wait until the new ones are healthy; then stop the old ones one at a time (SIGTERM: the
 *   server fails readiness, stops accepting, drains) and remove them by id. nginx re-resolves the backend in the background (`resolve`) and retries a refused connection on the
 *   next address, so no request fails; before the last old backend drains, the roll waits until
 *   nginx routes to a new one ({@link edgeSettleMs}), so no nginx reload is needed (a reload
 *   closes idle client keep-alive connections, which resets a request a client sends then). An optional budget predicate limits how many containers
 *   may run at once (DB connections during the overlap).
 * - {@link rollingRestart}: one container at a time, each healthy again before the next.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { containerLogTail } from './container.logs.js';
import { crashLoopReason, factsReady, healthFacts, notReadyState } from './health.wait.js';
import { listStackContainers, type StackContainer } from './stack.containers.js';
import { OperationError, UnhealthyError } from '../errors.js';
import { INSTALL_FILES } from '../paths.js';
import { parseCompose } from '../render/compose.render.js';
import { nginxUpstreamFor } from '../render/config.render.js';
import { configHashes } from './compose.drift.js';
import { serviceContainers, type Stack } from './compose.stack.js';

/** Parse a Compose duration (`20s`, `1m30s`, `500ms`, `1h`) into seconds (rounded up). Pure. */
export function parseDurationS(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const re = /(\d+(?:\.\d+)?)(ms|us|s|m|h)/g;
  let total = 0;
  let matched = '';
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : m[2] === 'ms' ? n / 1000 : n / 1e6;
    matched += m[0];
  }
  return matched === text.trim() && matched !== '' ? Math.ceil(total) : fallback;
}

/** Seconds Docker waits after SIGTERM before SIGKILL for `service`: its stop_grace_period in compose.yml (default 10). */
export function stopGraceSeconds(root: string, service: string): number {
  try {
    const doc = parseCompose(readFileSync(join(root, INSTALL_FILES.compose), 'utf8'));
    return parseDurationS(doc.services[service]?.stop_grace_period as string | undefined, 10);
  } catch {
    return 10;
  }
}

/** The app's services: what a maintenance window (restore, PostgreSQL major move) stops and starts. */
const APP_SERVICES = ['backend', 'worker'];

/**
 * Stop every running backend and worker container cleanly (SIGTERM, their stop_grace_period);
 * nginx answers 503 meanwhile. An already stopped container is fine.
 * @returns how many containers were stopped.
 */
export async function stopApp(stack: Stack, onProgress: (m: string) => void = () => undefined): Promise<number> {
  const app = (await listStackContainers(stack.docker, stack.manifest.project)).filter((c) => APP_SERVICES.includes(c.service) && c.state === 'running');
  for (const c of app) {
    onProgress(`${c.service} #${c.number}: SIGTERM, drain`);
    await stack.docker
      .getContainer(c.id)
      .stop({ t: stopGraceSeconds(stack.root, c.service) })
      .catch((e: { statusCode?: number }) => {
        if (e.statusCode !== 304) throw e;
      });
  }
  return app.length;
}

/**
 * Start backend and worker at the plan's replica counts (recreating nothing) and wait until all
 * are healthy.
 * @throws UnhealthyError from waitContainersHealthy; ExternalCommandError when Compose fails.
 */
export async function startApp(stack: Stack, timeoutMs: number, onProgress: (m: string) => void = () => undefined): Promise<void> {
  const s = stack.manifest.plan.sizing;
  await stack.compose.run(['up', '-d', '--no-recreate', '--scale', `backend=${s.backend.replicas}`, '--scale', `worker=${s.queue.replicas}`, ...APP_SERVICES], {
    timeoutMs: 10 * 60_000,
  });
  const ids = (await listStackContainers(stack.docker, stack.manifest.project)).filter((c) => APP_SERVICES.includes(c.service)).map((c) => c.id);
  await waitContainersHealthy(stack.docker, ids, { timeoutMs, what: 'backend and worker', onProgress });
}

/** Whether a container is running and healthy (or has no healthcheck), from `inspect`. */
/**
 * Wait until every container in `ids` runs and is healthy.
 * Fails fast when one is crash-looping (restarted 3 times while waiting) or has exited for good.
 * @throws UnhealthyError (exit 4) with the last log lines of each container that is not ready.
 */
export async function waitContainersHealthy(
  docker: Docker,
  ids: string[],
  opts: { timeoutMs: number; what: string; onProgress?: (m: string) => void },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const firstRestarts = new Map<string, number>();
  let last = '';
  for (;;) {
    const infos = await Promise.all(
      ids.map((id) =>
        docker
          .getContainer(id)
          .inspect()
          .catch(() => null),
      ),
    );
    const notReady: { id: string; why: string }[] = [];
    let crashLoop: string | null = null;
    infos.forEach((info, i) => {
      const id = ids[i]!;
      if (!info) {
        notReady.push({ id, why: 'gone' });
        crashLoop = crashLoop ?? `${id.slice(0, 12)} disappeared`;
        return;
      }
      const facts = healthFacts(info);
      if (!firstRestarts.has(id)) firstRestarts.set(id, facts.restartCount);
      if (factsReady(facts)) return;
      notReady.push({ id, why: notReadyState(facts) });
      const why = crashLoopReason(facts, firstRestarts.get(id)!);
      if (why) crashLoop = crashLoop ?? `${id.slice(0, 12)} ${why}`;
    });
    const text =
      notReady.length === 0
        ? `${opts.what}: ${ids.length}/${ids.length} healthy`
        : `${opts.what}: ${ids.length - notReady.length}/${ids.length} healthy (${notReady.map((n) => `${n.id.slice(0, 12)} ${n.why}`).join(', ')})`;
    if (text !== last) opts.onProgress?.(text);
    last = text;
    if (notReady.length === 0) return;
    if (crashLoop || Date.now() > deadline) {
      const logs: string[] = [];
      for (const n of notReady.slice(0, 4)) {
        const tail = await containerLogTail(docker, n.id, 12).catch(() => '(logs unavailable)');
        logs.push(`--- ${n.id.slice(0, 12)} (${n.why}) ---\n${tail.trimEnd()}`);
      }
      throw new UnhealthyError(
        `${opts.what} did not become healthy${crashLoop ? `: ${crashLoop}` : ` within ${Math.round(opts.timeoutMs / 1000)} s`}\n${logs.join('\n')}`,
        'inspect with `carebox logs SERVICE`; fix the cause and rerun (the operation is safe to repeat)',
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Stop a container gracefully and remove it: SIGTERM (the image's stop signal), up to `graceS`
 * seconds to drain, then SIGKILL; then remove it by id.
 */
export async function stopAndRemove(docker: Docker, id: string, graceS: number): Promise<void> {
  const c = docker.getContainer(id);
  try {
    await c.stop({ t: graceS });
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode;
    if (code !== 304 && code !== 404) throw err; // 304: already stopped
  }
  try {
    await c.remove({ v: false });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

/** Options of {@link rollingReplace}. */
export interface RollingReplaceOptions {
  /** Containers of the service wanted at the end, all with the current compose.yml config. */
  target: number;
  /**
   * Whether `stale` old and `fresh` new containers may run at once (e.g. their DB pools fit
   * max_connections). Default: always. When even one more new container does not fit, an old one
   * is stopped first.
   */
  fits?: (stale: number, fresh: number) => boolean;
  /** Health wait for each batch of new containers, ms. */
  timeoutMs: number;
  /** Replace every container that exists now, even those already up to date (a surge restart). */
  replaceAll?: boolean;
  onProgress?: (m: string) => void;
}

/** What a rolling replace did. */
export interface RollingReplaceResult {
  service: string;
  /** Containers started with the new config. */
  started: string[];
  /** Old containers stopped and removed. */
  removed: string[];
  /** Wall time, ms. */
  tookMs: number;
}

/**
 * Replace the containers of `service` whose config differs from compose.yml (on disk now) by new
 * ones, new before old, and settle at `target` replicas. Containers already up to date are kept.
 * On a failed health wait the new containers are removed again, the old ones keep serving, and
 * the UnhealthyError is rethrown.
 */
export async function rollingReplace(stack: Stack, service: string, opts: RollingReplaceOptions): Promise<RollingReplaceResult> {
  const t0 = Date.now();
  const progress = opts.onProgress ?? (() => undefined);
  const fits = opts.fits ?? (() => true);
  const want = (await configHashes(stack.compose))[service];
  if (!want) throw new OperationError(`service ${service} is not in compose.yml`);
  const grace = stopGraceSeconds(stack.root, service);
  const started: string[] = [];
  const removed: string[] = [];
  const initial = new Set(opts.replaceAll ? (await serviceContainers(stack, service)).map((c) => c.id) : []);
  const classify = async () => {
    const cs = await serviceContainers(stack, service);
    const fresh = cs.filter((c) => c.configHash === want && c.state === 'running' && !initial.has(c.id));
    const stale = cs.filter((c) => !fresh.includes(c));
    return { cs, fresh, stale };
  };
  // Stopped or broken containers never serve; remove them first so `up --scale` cannot restart them.
  for (const c of (await classify()).stale.filter((c) => c.state !== 'running')) {
    progress(`${service} #${c.number}: removing (${c.state})`);
    await stopAndRemove(stack.docker, c.id, grace);
    removed.push(c.id);
  }
  // When each new container became healthy (ms since epoch), for the edge settle below.
  const healthySince = new Map<string, number>();
  const settleMs = edgeSettleMs(stack, service);
  // Every pass starts or removes at least one container; more passes than that means no progress.
  const maxPasses = 2 * ((await classify()).cs.length + opts.target) + 2;
  for (let pass = 0; ; pass++) {
    const { cs, fresh, stale } = await classify();
    if (fresh.length === opts.target && stale.length === 0) break;
    if (pass >= maxPasses)
      throw new OperationError(
        `${service}: the rolling change made no progress after ${pass} steps (${fresh.length} current, ${stale.length} outdated)`,
        'check `carebox status`; rerun the operation',
      );
    if (fresh.length < opts.target) {
      let room = 0;
      while (fresh.length + room < opts.target && fits(stale.length, fresh.length + room + 1)) room++;
      if (room > 0) {
        const total = cs.length + room;
        progress(`${service}: starting ${room} new container(s) next to ${stale.length} old one(s)`);
        const before = new Set(cs.map((c) => c.id));
        await stack.compose.run(['up', '-d', '--no-recreate', '--scale', `${service}=${total}`, service], { timeoutMs: 10 * 60_000 });
        const addedContainers = (await serviceContainers(stack, service)).filter((c) => !before.has(c.id));
        const added = addedContainers.map((c) => c.id);
        started.push(...added);
        const off = addedContainers.filter((c) => c.configHash !== want);
        if (added.length === 0 || off.length > 0) {
          for (const id of added) await stopAndRemove(stack.docker, id, 0).catch(() => undefined);
          throw new OperationError(
            added.length === 0
              ? `${service}: \`up --scale ${service}=${total}\` started no container`
              : `${service}: Compose created containers whose config hash differs from \`docker compose config --hash\` (${off[0]!.configHash?.slice(0, 12)} vs ${want.slice(0, 12)})`,
            'this Compose version hashes service configs differently; stop and report it with `carebox support-bundle`',
          );
        }
        try {
          await waitContainersHealthy(stack.docker, added, { timeoutMs: opts.timeoutMs, what: `new ${service} container(s)`, onProgress: progress });
          for (const id of added) healthySince.set(id, Date.now());
        } catch (err) {
          progress(`${service}: the new container(s) failed; removing them, the old ones keep serving`);
          for (const id of added) await stopAndRemove(stack.docker, id, 0).catch(() => undefined);
          throw err;
        }
        continue;
      }
      if (stale.length === 0)
        throw new OperationError(`${service}: cannot start another container within the budget (${fresh.length} of ${opts.target} running)`);
    }
    // Enough new ones (or no room for more): retire one old container.
    const victim = stale.length > 0 ? stale[0]! : fresh[fresh.length - 1]!;
    const wait = settleWaitMs(cs, victim.id, healthySince, settleMs, Date.now());
    if (wait > 0) {
      progress(`${service}: waiting ${(wait / 1000).toFixed(0)} s until nginx knows the new container(s) before the last old one drains`);
      await new Promise((r) => setTimeout(r, wait));
    }
    progress(`${service} #${victim.number}: stopping (SIGTERM, drain up to ${grace} s) and removing`);
    await stopAndRemove(stack.docker, victim.id, grace);
    removed.push(victim.id);
  }
  // Settle Compose's own view at the target count; every container matches, so this changes nothing.
  await stack.compose.run(['up', '-d', '--no-recreate', '--scale', `${service}=${opts.target}`, service], { timeoutMs: 10 * 60_000 });
  return { service, started, removed, tookMs: Date.now() - t0 };
}

/**
 * How long nginx may keep skipping a replica that refused a connection before it listened: the
 * upstream's fail_timeout plus one resolver refresh (valid= + 1 s; plan `sizing.nginx.upstream`), in ms; 0 for
 * services nginx does not proxy to. Pure.
 */
export function edgeSettleMs(stack: Pick<Stack, 'manifest'>, service: string): number {
  if (service !== 'backend') return 0;
  const u = nginxUpstreamFor(stack.manifest.plan);
  // nginx re-asks DNS one second after an answer's validity ends (ngx_http_upstream_zone_module).
  return (u.failTimeoutS + u.resolverValidS + 1) * 1000;
}

/**
 * Wait before retiring `victimId`, ms: when every other running container was started (and became
 * healthy) in this roll, until the first of them has been healthy `settleMs`; otherwise 0 (an
 * older replica that nginx already knows keeps serving). Pure.
 * @param containers the service's containers now; `healthySince` ms since epoch per new container.
 */
export function settleWaitMs(
  containers: Pick<StackContainer, 'id' | 'state'>[],
  victimId: string,
  healthySince: ReadonlyMap<string, number>,
  settleMs: number,
  now: number,
): number {
  const others = containers.filter((c) => c.id !== victimId && c.state === 'running');
  if (settleMs <= 0 || others.length === 0 || !others.every((c) => healthySince.has(c.id))) return 0;
  const firstHealthy = Math.min(...others.map((c) => healthySince.get(c.id)!));
  return Math.max(0, firstHealthy + settleMs - now);
}

/** One restarted container. */
export interface RestartedContainer {
  id: string;
  number: number;
  tookMs: number;
}

/**
 * Restart every container of `service`, one at a time, each healthy again before the next (the
 * others keep serving). With one container this is a plain restart.
 * @throws UnhealthyError when a restarted container does not become healthy (the rest are left untouched).
 */
export async function rollingRestart(
  stack: Stack,
  service: string,
  opts: { timeoutMs: number; onProgress?: (m: string) => void },
): Promise<RestartedContainer[]> {
  const progress = opts.onProgress ?? (() => undefined);
  const grace = stopGraceSeconds(stack.root, service);
  const cs: StackContainer[] = await serviceContainers(stack, service);
  if (cs.length === 0) throw new OperationError(`service ${service} has no containers`, 'run `carebox install` to bring the stack up');
  const done: RestartedContainer[] = [];
  for (const c of cs) {
    const t = Date.now();
    progress(`${service} #${c.number}: restarting (SIGTERM, drain up to ${grace} s)`);
    await stack.docker.getContainer(c.id).restart({ t: grace });
    await waitContainersHealthy(stack.docker, [c.id], { timeoutMs: opts.timeoutMs, what: `${service} #${c.number}`, onProgress: progress });
    done.push({ id: c.id, number: c.number, tookMs: Date.now() - t });
  }
  return done;
}
