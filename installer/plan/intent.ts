import { z } from 'zod';
import { UsageError } from '../errors.js';
import { HOSPITAL_SIZES, PGBOUNCER_MODES, TIERS, type HospitalSize, type Intent } from './plan.types.js';
import { MAX_CLUSTER_NODES, MIN_CLUSTER_NODES } from './sizing.constants.js';

const flagsSchema = z
  .object({
    tier: z.enum(TIERS).optional(),
    users: z.coerce.number().int().min(1).max(1_000_000).optional(),
    size: z.enum(Object.keys(HOSPITAL_SIZES) as [HospitalSize, ...HospitalSize[]]).optional(),
    nodes: z.coerce.number().int().min(MIN_CLUSTER_NODES).max(MAX_CLUSTER_NODES).optional(),
    pgbouncer: z.enum(PGBOUNCER_MODES).optional(),
  })
  .strict();

/** Raw intent flags as commander hands them over (strings or undefined). */
export interface IntentFlags {
  tier?: string | undefined;
  users?: string | number | undefined;
  size?: string | undefined;
  nodes?: string | number | undefined;
  pgbouncer?: string | undefined;
}

/**
 * Validate intent flags into an Intent.
 * `--tier T`, `--users N` (1..1,000,000) and `--size small|medium|large|network` (the seed's
 * hospital sizes; the upper end of each range is used) are mutually exclusive, except that
 * `--users`/`--size` may accompany `--tier cluster` to size its node count. `--nodes N`
 * (2..64) applies to `--tier cluster` only. `--pgbouncer auto|on|off` (default `auto`) goes with
 * any of them; whether the host can honour `off` is the planner's call (exit 3), not a usage error.
 * @throws UsageError naming the bad flag and its allowed values.
 */
export function buildIntent(flags: IntentFlags): Intent {
  const clean = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined && v !== null));
  const parsed = flagsSchema.safeParse(clean);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = `--${String(issue.path[0] ?? '')}`;
    const allowed =
      flag === '--tier' ? TIERS.join(', ') : flag === '--size' ? Object.keys(HOSPITAL_SIZES).join(', ') : flag === '--users' ? 'a whole number from 1 to 1000000' : flag === '--nodes' ? `a whole number from ${MIN_CLUSTER_NODES} to ${MAX_CLUSTER_NODES}` : flag === '--pgbouncer' ? PGBOUNCER_MODES.join(', ') : '';
    // The flag, the value as typed and what is accepted; never the validator's own wording
    // ("Invalid input: expected number, received NaN").
    const value = clean[String(issue.path[0] ?? '')];
    throw new UsageError(`invalid ${flag} '${String(value)}'${allowed ? `: expected ${allowed.includes(',') ? 'one of ' : ''}${allowed}` : ''}`, allowed ? `allowed: ${allowed}` : null);
  }
  const f = parsed.data;
  if (f.users !== undefined && f.size !== undefined) throw new UsageError('give either --users or --size, not both');
  if (f.tier && f.tier !== 'cluster' && (f.users !== undefined || f.size !== undefined)) {
    throw new UsageError(`--tier ${f.tier} fixes the tier; --users/--size choose one. Give one of them`, 'use --users N alone to let the planner pick the smallest tier that serves N');
  }
  if (f.nodes !== undefined && f.tier !== 'cluster') throw new UsageError('--nodes applies only to --tier cluster');
  const users = f.users ?? (f.size ? HOSPITAL_SIZES[f.size].high : null);
  const usersSource = f.users !== undefined ? '--users' : f.size ? `--size ${f.size} (${HOSPITAL_SIZES[f.size].low}–${HOSPITAL_SIZES[f.size].high} concurrent)` : null;
  return { tier: f.tier ?? null, users, usersSource, nodes: f.nodes ?? null, pgbouncer: f.pgbouncer ?? 'auto' };
}
