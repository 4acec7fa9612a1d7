/**
 * Readiness: can this process serve requests now? PostgreSQL must answer and carry the newest
 * migration, and Redis must answer PING, each within a short timeout.
 *
 * | PostgreSQL | Redis | status          | HTTP | why                                              |
 * |------------|-------|-----------------|------|--------------------------------------------------|
 * | ok         | ok    | `ready`         | 200  |                                                  |
 * | ok         | down  | `degraded`      | 200  | reads fall back to PostgreSQL; sign-in and       |
 * |            |       |                 |      | authenticated routes answer 503 until Redis is   |
 * |            |       |                 |      | back. Every replica shares that Redis, so taking |
 * |            |       |                 |      | this one out of rotation (or having Docker       |
 * |            |       |                 |      | restart it) would help nobody.                   |
 * | down       | any   | `not_ready`     | 503  | nothing useful can be served                     |
 * | (shutdown) |       | `shutting_down` | 503  | answered without checking, so the load balancer  |
 * |            |       |                 |      | and healthchecks see the process leave before it |
 * |            |       |                 |      | stops accepting connections                      |
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { lastRedisError } from '../cache/redis.client.js';
import { LATEST_MIGRATION, MIGRATIONS_TABLE } from '../db/migrations/index.js';
import { shortReason, withTimeout } from '../util/with-timeout.js';

/** `ok`, or `down: <short reason>`. */
export type CheckResult = 'ok' | `down: ${string}`;

/** The body of `GET /ready`. */
export type ReadinessReport =
  | { status: 'ready'; checks: { postgres: 'ok'; redis: 'ok' } }
  | { status: 'degraded'; checks: { postgres: 'ok'; redis: CheckResult } }
  | { status: 'not_ready'; checks: { postgres: CheckResult; redis: CheckResult } }
  | { status: 'shutting_down' };

/** True when the report means "route traffic here" (HTTP 200). */
export function isServing(report: ReadinessReport): boolean {
  return report.status === 'ready' || report.status === 'degraded';
}

/** Dependencies of {@link ReadinessService}. */
export interface ReadinessDeps {
  db: Knex;
  redis: Redis;
  /** Per-check timeout, in ms (default 1000). */
  timeoutMs?: number;
}

/** Checks the dependencies; holds the shutting-down flag of the process. */
export class ReadinessService {
  private shuttingDown = false;
  private readonly timeoutMs: number;

  constructor(private readonly deps: ReadinessDeps) {
    this.timeoutMs = deps.timeoutMs ?? 1_000;
  }

  /** From now on {@link check} answers `shutting_down`. Irreversible. */
  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /** True once {@link beginShutdown} was called. */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Runs both checks in parallel, each bounded by the timeout. Never throws.
   * @returns the report: `ready` when both are ok, `degraded` when only Redis is down,
   *   `not_ready` when PostgreSQL is down.
   */
  async check(): Promise<ReadinessReport> {
    if (this.shuttingDown) return { status: 'shutting_down' };
    const [postgres, redis] = await Promise.all([this.checkPostgres(), this.checkRedis()]);
    if (postgres === 'ok' && redis === 'ok') return { status: 'ready', checks: { postgres, redis } };
    if (postgres === 'ok') return { status: 'degraded', checks: { postgres, redis } };
    return { status: 'not_ready', checks: { postgres, redis } };
  }

  private async checkPostgres(): Promise<CheckResult> {
    const { db } = this.deps;
    try {
      return await withTimeout(
        (async (): Promise<CheckResult> => {
          await db.raw('select 1');
          const hasTable = await db.schema.hasTable(MIGRATIONS_TABLE);
          if (!hasTable) return 'down: schema not migrated (run migrate)';
          const row = await db(MIGRATIONS_TABLE).where({ name: LATEST_MIGRATION }).first('id');
          return row ? 'ok' : `down: migration ${LATEST_MIGRATION} not applied (run migrate)`;
        })(),
        this.timeoutMs,
        'postgres check',
      );
    } catch (err) {
      return `down: ${describeError(err)}`;
    }
  }

  private async checkRedis(): Promise<CheckResult> {
    const { redis } = this.deps;
    if (redis.status !== 'ready') {
      // Not connected: answer at once instead of queueing a PING behind the reconnect.
      const last = lastRedisError(redis);
      return `down: ${redis.status}${last ? ` (${describeError(last)})` : ''}`;
    }
    try {
      const pong = await withTimeout(redis.ping(), this.timeoutMs, 'redis PING');
      return pong === 'PONG' ? 'ok' : `down: unexpected PING reply ${JSON.stringify(pong).slice(0, 40)}`;
    } catch (err) {
      return `down: ${describeError(err)}`;
    }
  }
}

/** A short reason; AggregateErrors (IPv4 + IPv6 refused) are summarised by their code. */
function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.message === '') {
    const code = (err as { code?: unknown }).code;
    const first = err.errors[0];
    return typeof code === 'string' ? code : shortReason(first);
  }
  return shortReason(err);
}
