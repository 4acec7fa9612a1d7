/**
 * Metric names shared by the per-process registry (metrics.registry.ts) and the cluster primary's
 * merge (cluster-metrics.ts). A module of its own so the primary, which merges but never records,
 * does not load the registry's dependencies (knex for the pool gauges).
 */

/** Name of the hit-ratio gauge; the cluster primary recomputes it from the merged counters. */
export const CACHE_HIT_RATIO_METRIC = 'carebox_cache_hit_ratio';
