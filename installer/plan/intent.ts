import { z } from 'zod';
import { UsageError } from '../errors.js';
import { HOSPITAL_SIZES, PGBOUNCER_MODES, TIERS, type HospitalSize, type Intent } from './plan.types.js';
import { MAX_CLUSTER_NODES, MIN_CLUSTER_NODES } from './sizing.constants.js';
import { DEFAULT_PROFILE, THINK_TIME_LIMITS_S, withThinkTime, type WorkloadProfile } from './workload.profile.js';

const flagsSchema = z
  .object({
    tier: z.enum(TIERS).optional(),
    users: z.coerce.number().int().min(1).max(1_000_000).optional(),
    size: z.enum(Object.keys(HOSPITAL_SIZES) as [HospitalSize, ...HospitalSize[]]).optional(),
    nodes: z.coerce.number().int().min(MIN_CLUSTER_NODES).max(MAX_CLUSTER_NODES).optional(),
    pgbouncer: z.enum(PGBOUNCER_MODES).optional(),
    thinkTime: z.coerce.number().min(THINK_TIME_LIMITS_S.min).max(THINK_TIME_LIMITS_S.max).optional(),
  })
  .strict();

/** Raw intent flags as commander hands them over (strings or undefined). */
export interface IntentFlags {
  tier?: string | undefined;
  users?: string | number | undefined;
  size?: string | undefined;
  nodes?: string | number | undefined;
  pgbouncer?: string | undefined;
  /** `--think-time SECONDS`: mean pause between one person's actions. */
  thinkTime?: string | number | undefined;
  /** A profile already read and validated from `--profile FILE` (see workload.profile.ts parseProfileFile). */
  profile?: WorkloadProfile | undefined;
}

/**
 * Validate intent flags into an Intent.
 * `--tier T`, `--users N` (1..1,000,000) and `--size small|medium|large|network` (the seed's
 * hospital sizes; the upper end of each range is used) are mutually exclusive, except that
 * `--users`/`--size` may accompany `--tier cluster` to size its node count. `--nodes N`
 * (2..64) applies to `--tier cluster` only. `--users`/`--size` count active staff under the
 * workload profile: `--think-time SECONDS` (1..3600) changes the default profile's mean think time,
 * `profile` (from `--profile FILE`) replaces the profile; with both, the file's think time is replaced. `--pgbouncer auto|on|off` (default `auto`) goes with
 * any of them; whether the host can honour `off` is the planner's call (exit 3), not a usage error.
 * @throws UsageError naming the bad flag and its allowed values.
 */
export function buildIntent(flags: IntentFlags): Intent {
  const { profile: fileProfile, ...rest } = flags;
  const clean = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== null));
  const parsed = flagsSchema.safeParse(clean);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = `--${String(issue.path[0] ?? '')}`;
    const allowed =
      flag === '--tier'
        ? TIERS.join(', ')
        : flag === '--size'
          ? Object.keys(HOSPITAL_SIZES).join(', ')
          : flag === '--users'
            ? 'a whole number from 1 to 1000000'
            : flag === '--nodes'
              ? `a whole number from ${MIN_CLUSTER_NODES} to ${MAX_CLUSTER_NODES}`
              : flag === '--pgbouncer'
                ? PGBOUNCER_MODES.join(', ')
                : flag === '--thinkTime'
                  ? `seconds from ${THINK_TIME_LIMITS_S.min} to ${THINK_TIME_LIMITS_S.max}`
                  : '';
    // The flag, the value as typed and what is accepted; never the validator's own wording
    // ("Invalid input: expected number, received NaN").
    const value = clean[String(issue.path[0] ?? '')];
    if (flag === '--thinkTime')
      throw new UsageError(`invalid --think-time '${String(value)}': expected ${allowed} (the mean pause between one person's actions)`, `allowed: ${allowed}`);
    throw new UsageError(
      `invalid ${flag} '${String(value)}'${allowed ? `: expected ${allowed.includes(',') ? 'one of ' : ''}${allowed}` : ''}`,
      allowed ? `allowed: ${allowed}` : null,
    );
  }
  const f = parsed.data;
  if (f.users !== undefined && f.size !== undefined) throw new UsageError('give either --users or --size, not both');
  if (f.tier && f.tier !== 'cluster' && (f.users !== undefined || f.size !== undefined)) {
    throw new UsageError(
      `--tier ${f.tier} fixes the tier; --users/--size choose one. Give one of them`,
      'use --users N alone to let the planner pick the smallest tier that serves N',
    );
  }
  if (f.nodes !== undefined && f.tier !== 'cluster') throw new UsageError('--nodes applies only to --tier cluster');
  const users = f.users ?? (f.size ? HOSPITAL_SIZES[f.size].high : null);
  const given = fileProfile ?? null;
  const profile = f.thinkTime !== undefined ? withThinkTime(given ?? DEFAULT_PROFILE, f.thinkTime) : given;
  const usersSource = f.users !== undefined ? '--users' : f.size ? `--size ${f.size}: ${HOSPITAL_SIZES[f.size].low}–${HOSPITAL_SIZES[f.size].high}` : null;
  const intent: Intent = { tier: f.tier ?? null, users, usersSource, nodes: f.nodes ?? null, pgbouncer: f.pgbouncer ?? 'auto' };
  // The default profile is left implicit, so intents and manifests without one mean the same.
  if (profile !== null) intent.profile = profile;
  return intent;
}
