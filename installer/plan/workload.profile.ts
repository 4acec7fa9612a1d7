/**
 * The workload profile: what one active member of staff does to the server, so every capacity
 * figure can be stated in people (active staff), not in looping connections. Pure, versioned,
 * part of the plan (`plan --json` → `capacity.profile`) and of carebox.json.
 *
 * - An *action* is one step at the desk: the requests the UI sends for it (today's load-test mix:
 *   search by MRN, open the record, open a hot record, list appointments, book). Each action type
 *   has a share of all actions and a number of requests.
 * - *Think time* Z is the pause between one person's actions (reading, talking to the patient,
 *   typing), drawn from a distribution around a mean.
 * - Little's law then ties the three capacity figures together: active staff N = X × (R + Z), with
 *   X the action rate (actions/s) and R the mean response time of an action (s); requests/s =
 *   X × requests per action.
 *
 * A hospital that knows its own workflow gives a profile file (`--profile FILE`, JSON) or just its
 * think time (`--think-time SECONDS`); see {@link parseProfileFile} and {@link withThinkTime}.
 */
import { z } from 'zod';
import { UsageError } from '../errors.js';

/** Current profile schema version; a file with another version is refused (exit 2). */
export const PROFILE_VERSION = 1;

/** Think time bounds accepted from flags and files, seconds. Below 1 s a person is a script. */
export const THINK_TIME_LIMITS_S = { min: 1, max: 3600 } as const;

const actionSchema = z
  .object({
    /** Short name, e.g. `find-patient`. */
    name: z.string().min(1).max(64),
    /** What the person does, in words. */
    description: z.string().max(300).default(''),
    /** Share of all actions, 0..1; the shares of a profile sum to 1 (± 0.001). */
    share: z.number().gt(0).max(1),
    /** HTTP requests the UI sends for one such action (≥ 1). */
    requests: z.number().int().min(1).max(100),
    /** Where the figure comes from. */
    source: z.string().max(500).default('given by the hospital'),
  })
  .strict();

const thinkTimeSchema = z
  .object({
    /** `exponential` (memoryless, the usual model for people: many short pauses, a few long ones) or `uniform`. */
    distribution: z.enum(['exponential', 'uniform']),
    /** Mean pause between one person's actions, seconds. */
    meanS: z.number().min(THINK_TIME_LIMITS_S.min).max(THINK_TIME_LIMITS_S.max),
    /**
     * `uniform` only: half-width of the interval around the mean, seconds (pauses are drawn from
     * [meanS − spreadS, meanS + spreadS]); at most meanS. Default meanS / 2.
     */
    spreadS: z.number().min(0).optional(),
    source: z.string().max(500).default('given by the hospital'),
  })
  .strict();

/** zod schema of a workload profile (a `--profile` file, or `capacity.profile` in carebox.json). */
export const workloadProfileSchema = z
  .object({
    version: z.literal(PROFILE_VERSION),
    name: z.string().min(1).max(80),
    thinkTime: thinkTimeSchema,
    actions: z.array(actionSchema).min(1).max(20),
    /** Why the defaults are what they are (free text, shown in docs/tiers.md). */
    notes: z.array(z.string().max(600)).max(10).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    const sum = p.actions.reduce((s, a) => s + a.share, 0);
    if (Math.abs(sum - 1) > 0.001)
      ctx.addIssue({ code: 'custom', path: ['actions'], message: `the action shares sum to ${Math.round(sum * 1000) / 1000}, not 1` });
    const t = p.thinkTime;
    if (t.distribution === 'uniform' && t.spreadS !== undefined && t.spreadS > t.meanS) {
      ctx.addIssue({
        code: 'custom',
        path: ['thinkTime', 'spreadS'],
        message: `spreadS ${t.spreadS} is more than meanS ${t.meanS}: a pause cannot be negative`,
      });
    }
    const names = new Set<string>();
    for (const a of p.actions) {
      if (names.has(a.name)) ctx.addIssue({ code: 'custom', path: ['actions'], message: `action ${a.name} is listed twice` });
      names.add(a.name);
    }
  });

/** A workload profile: action types with their shares and requests, and the think time between actions. */
export type WorkloadProfile = z.infer<typeof workloadProfileSchema>;
/** One action type of a profile. */
export type ProfileAction = WorkloadProfile['actions'][number];

/** GitLab reference architectures: target API load for up to 1,000 users, requests/s. */
export const GITLAB_RPS_PER_1000_USERS = 20;

/**
 * The default profile: a front desk's pace, applied to everybody.
 *
 * - Actions (the load test's mix; each action type's requests are what the UI sends for it):
 *   `find-patient` 35 % × 3 requests (search by MRN → open the record found → list the patient's
 *   appointments: a clerk checking a patient in); `open-record` 45 % × 1 (open a record already in
 *   use, cache-hot: a ward round going from bed to bed); `book` 20 % × 1 (book a free slot: the
 *   write). Mean 1.7 requests per action. Our reasoning about a front desk and a ward round.
 * - Think time: exponential, mean 30 s. A check-in at a front desk takes 3–5 minutes for 6–10
 *   actions (one every 20–40 s); a ward round spends minutes at each bed for a few record opens
 *   (one every 60–120 s). Taking the front desk's pace for every person is the conservative side.
 * - Check against public figures: 1.7 requests per 31 s is 55 requests/s per 1,000 active staff,
 *   2.7× GitLab's reference-architecture load of 20 API requests/s per 1,000 users; and the seed
 *   counts 30–50 *concurrent* among 100–200 *daily* users (1 in 4), so its "concurrent users" are
 *   people with a session open, which is what active staff are. The default therefore asks more of
 *   the server per person than either source: a hospital whose staff act more slowly gets more
 *   headroom than planned, never less.
 */
export const DEFAULT_PROFILE: WorkloadProfile = Object.freeze({
  version: PROFILE_VERSION,
  name: 'carebox-default-v1',
  thinkTime: {
    distribution: 'exponential',
    meanS: 30,
    source:
      'a front desk: a 3–5 min check-in has 6–10 actions, one every 20–40 s (our reasoning); a ward round acts every 60–120 s, so 30 s for everybody is the busy end',
  },
  actions: [
    {
      name: 'find-patient',
      description: 'search by MRN, open the record found, list its appointments',
      share: 0.35,
      requests: 3,
      source: "the load test's first, second and fourth requests: what the UI sends for a patient check-in (our reasoning about a front desk)",
    },
    {
      name: 'open-record',
      description: 'open a record already in use (cache-hot)',
      share: 0.45,
      requests: 1,
      source: "the load test's third request: a ward round opening the records of its patients (our reasoning)",
    },
    {
      name: 'book',
      description: 'book a free appointment slot (a write)',
      share: 0.2,
      requests: 1,
      source: "the load test's fifth request: one booking per 5 actions, as the load test's cycle did",
    },
  ],
  notes: [
    `GitLab reference architectures: about ${GITLAB_RPS_PER_1000_USERS} API requests/s per 1,000 users; this profile asks 55 per 1,000 active staff (2.7× as much).`,
    "The seed document: 30–50 concurrent among 100–200 daily users (small), 100–200 among 500–1,000 (medium): its 'concurrent users' are people with a session open, i.e. active staff.",
    'Conservative: the shortest think time of the roles (the front desk) is applied to every person, and each action type counts every request its screen sends.',
  ],
}) as WorkloadProfile;

/** Mean requests per action: Σ share × requests. Pure. */
export function requestsPerAction(p: WorkloadProfile): number {
  return p.actions.reduce((s, a) => s + a.share * a.requests, 0);
}

/**
 * Mean of the think time actually drawn by {@link sampleThinkTimeS}, seconds: the exponential is
 * truncated at {@link THINK_TIME_TRUNCATION} × mean (so every pause is bounded), which takes
 * e^−5 ≈ 0.7 % off its mean; the uniform's mean is its centre.
 */
export function effectiveThinkTimeS(p: WorkloadProfile): number {
  const t = p.thinkTime;
  return t.distribution === 'exponential' ? t.meanS * (1 - Math.exp(-THINK_TIME_TRUNCATION)) : t.meanS;
}

/** Exponential pauses are cut at this many means (a bounded loop; 0.7 % of draws). */
export const THINK_TIME_TRUNCATION = 5;

/**
 * One pause, seconds, drawn from the profile's distribution: exponential by inversion
 * (−Z ln U, capped at 5 Z) or uniform on [Z − spread, Z + spread] (spread default Z / 2).
 * @param random a source of uniform numbers in [0, 1) (tests pass a seeded one).
 */
export function sampleThinkTimeS(p: WorkloadProfile, random: () => number = Math.random): number {
  const t = p.thinkTime;
  if (t.distribution === 'uniform') {
    const spread = Math.min(t.meanS, t.spreadS ?? t.meanS / 2);
    return t.meanS - spread + 2 * spread * random();
  }
  const u = 1 - random(); // (0, 1]
  return Math.min(-t.meanS * Math.log(u), THINK_TIME_TRUNCATION * t.meanS);
}

/**
 * Picks an action type by its share. Pure given `random`.
 * @param random a uniform number source in [0, 1).
 */
export function pickAction(p: WorkloadProfile, random: () => number = Math.random): ProfileAction {
  let r = random();
  for (const a of p.actions) {
    if (r < a.share) return a;
    r -= a.share;
  }
  return p.actions[p.actions.length - 1]!;
}

/**
 * The profile with another mean think time (`--think-time SECONDS`), its source saying so.
 * @throws UsageError (exit 2) when seconds is not a number within {@link THINK_TIME_LIMITS_S}.
 */
export function withThinkTime(p: WorkloadProfile, seconds: number): WorkloadProfile {
  if (!Number.isFinite(seconds) || seconds < THINK_TIME_LIMITS_S.min || seconds > THINK_TIME_LIMITS_S.max) {
    throw new UsageError(
      `invalid --think-time: ${seconds}`,
      `give the mean pause between one person's actions in seconds, from ${THINK_TIME_LIMITS_S.min} to ${THINK_TIME_LIMITS_S.max}`,
    );
  }
  if (seconds === p.thinkTime.meanS) return p;
  return {
    ...p,
    name: `${p.name}+think-${seconds}s`,
    thinkTime: { ...p.thinkTime, meanS: seconds, source: `--think-time ${seconds} (the hospital's own figure)` },
  };
}

/**
 * Parses and validates a profile file (JSON text).
 * @throws UsageError (exit 2) naming the file and the first bad field.
 */
export function parseProfileFile(text: string, file: string): WorkloadProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`invalid --profile ${file}: not JSON (${(err as Error).message})`, profileHint());
  }
  const parsed = workloadProfileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`invalid --profile ${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, profileHint());
  }
  return parsed.data;
}

function profileHint(): string {
  return `a profile is JSON like \`carebox plan --json\`'s capacity.profile: { "version": ${PROFILE_VERSION}, "name", "thinkTime": { "distribution": "exponential"|"uniform", "meanS" }, "actions": [{ "name", "share", "requests" }] } with shares summing to 1`;
}

/** One line naming the profile, e.g. `one action every 30 s (exponential), 1.7 requests per action`. Pure. */
export function describeProfile(p: WorkloadProfile): string {
  return `one action every ${p.thinkTime.meanS} s (${p.thinkTime.distribution} think time), ${round2(requestsPerAction(p))} requests per action`;
}

/** The unit every capacity figure is stated in, e.g. `active staff (one action every 30 s)`. Pure. */
export function staffUnit(p: WorkloadProfile): string {
  return `active staff (one action every ${p.thinkTime.meanS} s)`;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
