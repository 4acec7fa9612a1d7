/**
 * The backup schedule kept in carebox.json (`backups.schedule`), and the decisions the stack's
 * scheduler makes from it. Pure: every function takes the time it reasons about. The calendar math
 * (next fire time of a cron expression in a time zone, with DST) is croner's, not ours.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { UsageError } from '../errors.js';

/** Default daily backup time (UTC) when `install --backup-at` is not given: 02:30, outside clinic hours. */
export const DEFAULT_BACKUP_AT = '02:30';

/** `install --backup-at off`: no scheduled backups (the schedule is kept, disabled). */
export const BACKUP_AT_OFF = 'off';

/**
 * `backups.schedule` in carebox.json.
 *  - cron: a cron expression in `timezone` (5 fields, or 6 with seconds first; seconds are for tests:
 *    a real hospital backs up daily). `carebox install --backup-at HH:MM` writes `M H * * *`.
 *  - timezone: IANA zone name the expression is read in (default UTC).
 *  - enabled: false stops scheduled backups (manual `carebox backup` still works).
 *  - since: ISO-8601 UTC time the schedule took effect; a "missed run" is only one due after it.
 */
export const scheduleSchema = z.object({
  cron: z.string().min(9).max(100),
  timezone: z.string().min(1).max(64).default('UTC'),
  enabled: z.boolean().default(true),
  since: z.string(),
});
export type BackupSchedule = z.infer<typeof scheduleSchema>;

/**
 * `HH:MM` (24 h) → a daily cron expression `M H * * *`. Pure.
 * @throws UsageError for anything else (exit 2).
 */
export function dailyCron(at: string): string {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(at.trim());
  if (!m) throw new UsageError(`--backup-at ${at}: expected a time of day HH:MM (24 h), e.g. 02:30`);
  return `${Number(m[2])} ${Number(m[1])} * * *`;
}

/**
 * Check a cron expression and time zone with croner (the same parser the scheduler uses).
 * @throws UsageError naming what croner rejected.
 */
export function checkCron(cron: string, timezone = 'UTC'): void {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) throw new UsageError(`schedule "${cron}": expected 5 cron fields (minute hour day month weekday), or 6 with seconds first`);
  try {
    // croner checks the time zone only when it computes a time.
    new Cron(cron, { timezone, paused: true }).nextRun(new Date(0));
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch (err) {
    throw new UsageError(`schedule "${cron}" (${timezone}): ${(err as Error).message}`);
  }
}

/**
 * A new schedule: daily at `at` (HH:MM) or a cron expression, effective from `now`.
 * @throws UsageError for a bad time or expression, or both given.
 */
export function newSchedule(opts: { at?: string; cron?: string; timezone?: string }, now: Date): BackupSchedule {
  if (opts.at && opts.cron) throw new UsageError('give either --at HH:MM or --cron EXPR, not both');
  const cron = opts.cron ?? dailyCron(opts.at ?? DEFAULT_BACKUP_AT);
  const timezone = opts.timezone ?? 'UTC';
  checkCron(cron, timezone);
  return { cron, timezone, enabled: true, since: now.toISOString() };
}

/** First fire time strictly after `after`, or null (an expression that never fires again). Pure. */
export function nextRun(s: Pick<BackupSchedule, 'cron' | 'timezone'>, after: Date): Date | null {
  return new Cron(s.cron, { timezone: s.timezone, paused: true }).nextRun(after);
}

/** What the scheduler should do when it starts (or wakes). */
export interface CatchUpDecision {
  /** A scheduled time between the last attempt (or the schedule's start) and now passed without a run. */
  missed: boolean;
  /** That scheduled time (ISO-8601 UTC), when missed. */
  missedAt: string | null;
  /** Next regular fire time after now (ISO-8601 UTC), or null. */
  next: string | null;
}

/**
 * Whether a scheduled run was missed (the stack was down at the time, the host was off):
 * the first fire time after the later of the last attempt and the schedule's start lies in the
 * past. The scheduler then runs at once (catch-up) and publishes `carebox_backup_schedule_missed`.
 * Pure. `lastAttempt` is ISO-8601 or null (never).
 */
export function catchUp(s: BackupSchedule, lastAttempt: string | null, now: Date): CatchUpDecision {
  const from = new Date(Math.max(Date.parse(s.since), lastAttempt ? Date.parse(lastAttempt) : 0));
  const due = s.enabled ? nextRun(s, from) : null;
  const missed = due !== null && due.getTime() <= now.getTime();
  const next = s.enabled ? nextRun(s, now) : null;
  return { missed, missedAt: missed ? due!.toISOString() : null, next: next ? next.toISOString() : null };
}

/** One line for people: `daily at 02:30 (UTC)` or `cron "*\/20 * * * * *" (UTC)`. Pure. */
export function describeSchedule(s: BackupSchedule): string {
  if (!s.enabled) return 'off';
  const m = /^(\d{1,2}) (\d{1,2}) \* \* \*$/.exec(s.cron);
  return m ? `daily at ${m[2]!.padStart(2, '0')}:${m[1]!.padStart(2, '0')} (${s.timezone})` : `cron "${s.cron}" (${s.timezone})`;
}
