/**
 * A read-through Redis cache of records by id (patients use it), invalidated on write.
 *
 * - Read: GET `<prefix>:c:<name>:<id>`; a miss loads from PostgreSQL and fills with
 *   `SET … NX EX ttl`.
 * - Invalidate (after a write commits): the key is replaced by a short-lived tombstone. A reader
 *   that loaded the old row just before the commit and fills just after it fails its `NX`, so it
 *   cannot put the stale row back. Readers treat the tombstone as a miss.
 * - Redis unavailable: reads go straight to PostgreSQL (counted as errors, never thrown, no wait
 *   for the reconnect). Invalidations that could not be sent are kept in memory and sent when the
 *   connection is back (before the next cache read or write of this process), so a record changed
 *   during the outage is not served stale afterwards.
 *
 * Metrics: `carebox_cache_hits_total`, `carebox_cache_misses_total`, `carebox_cache_errors_total`
 * (each `{cache}`), and `carebox_cache_hit_ratio{cache}`.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CacheMetrics } from '../observability/metrics.registry.js';

/** The tombstone value, and how long it blocks refills after a write, in ms. */
const TOMBSTONE = '!';
export const TOMBSTONE_MS = 2_000;
/** Invalidations kept for replay after an outage (beyond that, the TTL bounds staleness). */
const MAX_PENDING_INVALIDATIONS = 10_000;

/** Options of {@link RecordCache}. */
export interface RecordCacheOptions {
  /** Cache name, in keys and metric labels, e.g. `patient`. */
  name: string;
  /** Key prefix (QUEUE_NAME_PREFIX). */
  prefix: string;
  /** Entry lifetime, in seconds; 0 disables the cache (every read loads). */
  ttlSeconds: number;
}

/** A read-through cache of JSON records. */
export class RecordCache<T> {
  private readonly pending = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly options: RecordCacheOptions,
    private readonly metrics: CacheMetrics,
    private readonly logger: Logger<string>,
  ) {}

  private key(id: string): string {
    return `${this.options.prefix}:c:${this.options.name}:${id}`;
  }

  private get enabled(): boolean {
    return this.options.ttlSeconds > 0;
  }

  private get connected(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * The record from the cache, or from `load` (then cached). Never fails because of Redis.
   * @returns null when `load` finds nothing (not cached).
   * @throws whatever `load` throws.
   */
  async getOrLoad(id: string, load: () => Promise<T | null>): Promise<T | null> {
    if (!this.enabled) return load();
    const labels = { cache: this.options.name };
    const { cached, cacheUsable } = await this.lookup(id);
    if (cached !== null && cached !== TOMBSTONE) {
      try {
        const value = JSON.parse(cached) as T;
        this.metrics.hits.inc(labels);
        return value;
      } catch {
        // A corrupt entry is a miss; the fill below cannot overwrite it (NX), so drop it.
        await this.redis.del(this.key(id)).catch(() => undefined);
      }
    }
    if (cacheUsable) this.metrics.misses.inc(labels);
    const value = await load();
    if (value !== null) await this.fill(id, JSON.stringify(value), cacheUsable, cached);
    return value;
  }

  /**
   * Like {@link getOrLoad}, but the record as JSON text: a hit is returned as Redis holds it (no
   * parse, and the caller sends it without serializing again), a miss is loaded and serialized
   * once for both the cache and the caller. Never fails because of Redis.
   * @param looksValid a cheap check of cached text (e.g. it starts with this record's id); text
   *   that fails it is dropped and reloaded, like a corrupt entry.
   * @returns null when `load` finds nothing (not cached).
   * @throws whatever `load` throws.
   */
  async getOrLoadJson(id: string, load: () => Promise<T | null>, looksValid: (text: string) => boolean): Promise<string | null> {
    if (!this.enabled) {
      const value = await load();
      return value === null ? null : JSON.stringify(value);
    }
    const labels = { cache: this.options.name };
    const { cached, cacheUsable } = await this.lookup(id);
    if (cached !== null && cached !== TOMBSTONE) {
      if (looksValid(cached)) {
        this.metrics.hits.inc(labels);
        return cached;
      }
      await this.redis.del(this.key(id)).catch(() => undefined);
    }
    if (cacheUsable) this.metrics.misses.inc(labels);
    const value = await load();
    if (value === null) return null;
    const text = JSON.stringify(value);
    await this.fill(id, text, cacheUsable, cached);
    return text;
  }

  /**
   * The cached text of a record (null on a miss), after replaying pending invalidations. A Redis
   * failure makes the cache unusable for this call and counts an error; it never throws.
   */
  private async lookup(id: string): Promise<{ cached: string | null; cacheUsable: boolean }> {
    let cached: string | null = null;
    let cacheUsable = this.connected;
    if (cacheUsable && this.pending.size > 0) await this.flushPending();
    if (cacheUsable) {
      try {
        cached = await this.redis.get(this.key(id));
      } catch {
        cacheUsable = false;
      }
    }
    if (!cacheUsable) this.metrics.errors.inc({ cache: this.options.name });
    return { cached, cacheUsable };
  }

  /**
   * Cache a loaded record's text unless Redis was unusable or a tombstone (a write in flight) was
   * seen. NX: never overwrites what a concurrent writer or loader put there. Never throws.
   */
  private async fill(id: string, text: string, cacheUsable: boolean, cached: string | null): Promise<void> {
    if (!cacheUsable || cached === TOMBSTONE) return;
    await this.redis.set(this.key(id), text, 'EX', this.options.ttlSeconds, 'NX').catch(() => undefined);
  }

  /** Invalidates one record after a committed write. Never throws; retried after an outage. */
  async invalidate(id: string): Promise<void> {
    if (!this.enabled) return;
    if (!this.connected) {
      this.remember(id);
      return;
    }
    if (this.pending.size > 0) await this.flushPending();
    try {
      await this.redis.set(this.key(id), TOMBSTONE, 'PX', TOMBSTONE_MS);
    } catch {
      this.remember(id);
    }
  }

  private remember(id: string): void {
    if (this.pending.size < MAX_PENDING_INVALIDATIONS) this.pending.add(id);
  }

  private async flushPending(): Promise<void> {
    if (this.pending.size === 0) return;
    const ids = [...this.pending];
    this.pending.clear();
    try {
      const multi = this.redis.multi();
      for (const id of ids) multi.del(this.key(id));
      await multi.exec();
      this.logger.info({ cache: this.options.name, count: ids.length }, 'replayed cache invalidations held during the Redis outage');
    } catch {
      for (const id of ids) this.remember(id);
    }
  }
}
