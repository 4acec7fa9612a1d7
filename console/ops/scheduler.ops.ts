/**
 * The stack's backup scheduler (`carebox scheduler run`, the `scheduler` service of the stack).
 *
 * One scheduled run: a backup (written, read back and verified), the restore drill on it, a restic
 * copy to every configured repository, then retention (local keep-N and restic's forget --prune),
 * only when the drill passed: a backup that did not prove it restores never causes an older one to
 * be deleted. Every step's outcome goes to carebox.json and the metrics file.
 *
 * The loop re-reads carebox.json every tick, so `carebox backup schedule` reaches a running
 * scheduler without a restart. On start it decides whether a scheduled run was missed (the stack or
 * host was down at the time; installer/backup/backup.schedule.ts) and runs it at once.
 */
import { utimes, writeFile } from 'node:fs/promises';
import { SCHEDULER_HEARTBEAT } from '../../installer/render/compose.render.js';
import { catchUp, nextRun, type BackupSchedule } from '../../installer/backup/backup.schedule.js';
import { readManifest } from '../../installer/manifest/manifest.js';
import { resticImage } from '../../installer/render/images.map.js';
import { installIdFor } from '../../installer/manifest/install.id.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import type { DrillRecord } from '../../installer/backup/backup.status.js';
import { createBackup, DEFAULT_KEEP, pruneBackups } from './backup.ops.js';
import { updateBackupStatus, writeBackupMetrics } from './backup.metrics.js';
import { runRestoreDrill } from './restore.drill.js';
import { applyRetention, copyBackup, ensureRepository, listSnapshots, resticContext } from './restic.ops.js';
import { openStack, withStackLock, type Stack } from './stack.js';

/** What one scheduled run did. */
export interface ScheduledRunResult {
  stamp: string | null;
  backupOk: boolean;
  why: string | null;
  drill: DrillRecord | null;
  offsite: { name: string; ok: boolean; snapshot: string | null; snapshots: number | null; why: string | null }[];
  pruned: string[];
}

/**
 * Take one backup the way the schedule does (see the module doc). Never throws for a failed step:
 * the result and carebox.json say what failed.
 */
export async function scheduledRun(root: string, reporter: StepReporter, log: (line: string) => void): Promise<ScheduledRunResult> {
  const res: ScheduledRunResult = { stamp: null, backupOk: false, why: null, drill: null, offsite: [], pruned: [] };
  let stack: Stack | undefined;
  try {
    stack = await openStack(root);
    const b = await createBackup(stack, { prune: false }, reporter);
    res.stamp = b.manifest.stamp;
    res.backupOk = true;
    log(`backup ${b.manifest.stamp} written and verified (${Object.keys(b.manifest.tables).length} tables, ${b.manifest.dump.bytes} bytes)`);
    res.drill = await runRestoreDrill(stack, b.dir, (m) => log(`drill: ${m}`));
    log(
      res.drill.ok
        ? `restore drill passed in ${(res.drill.durationMs / 1000).toFixed(1)} s`
        : `restore drill FAILED (${res.drill.reason ?? 'error'}): ${res.drill.why}`,
    );
    const m = (await readManifest(root)) ?? stack.manifest;
    const ctx = resticContext(stack.docker, root, resticImage(m.images));
    const installId = installIdFor(m);
    for (const repo of m.backups?.offsite ?? []) {
      const at = new Date().toISOString();
      try {
        await ensureRepository(ctx, repo);
        const snapshot = await copyBackup(ctx, repo, root, b.dir, b.manifest.stamp, installId);
        if (res.drill.ok) await applyRetention(ctx, repo, m.backups?.retention);
        const snapshots = (await listSnapshots(ctx, repo)).length;
        res.offsite.push({ name: repo.name, ok: true, snapshot, snapshots, why: null });
        await updateBackupStatus(root, (s) => ({
          ...s,
          offsite: { ...s.offsite, [repo.name]: { lastAttemptAt: at, ok: true, why: null, lastSuccessAt: new Date().toISOString(), snapshot } },
        }));
        log(
          `copied to ${repo.name} (snapshot ${snapshot.slice(0, 8)}; ${snapshots} snapshot(s) kept after retention${res.drill.ok ? '' : ' was skipped: the drill failed'})`,
        );
      } catch (err) {
        const why = (err as Error).message.slice(0, 300);
        res.offsite.push({ name: repo.name, ok: false, snapshot: null, snapshots: null, why });
        await updateBackupStatus(root, (s) => ({
          ...s,
          offsite: {
            ...s.offsite,
            [repo.name]: {
              lastAttemptAt: at,
              ok: false,
              why,
              lastSuccessAt: s.offsite[repo.name]?.lastSuccessAt ?? null,
              snapshot: s.offsite[repo.name]?.snapshot ?? null,
            },
          },
        }));
        log(`copy to ${repo.name} FAILED: ${why}`);
      }
    }
    if (res.drill.ok) {
      res.pruned = await withStackLock(root, 'backup retention', () => pruneBackups(root, m.backups?.keep ?? DEFAULT_KEEP, reporter));
      if (res.pruned.length) log(`retention removed ${res.pruned.join(', ')}`);
    }
  } catch (err) {
    res.why = (err as Error).message.slice(0, 500);
    log(`scheduled backup FAILED: ${res.why}`);
  }
  return res;
}

const sameSchedule = (a: BackupSchedule | null | undefined, b: BackupSchedule | null | undefined) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * The scheduler loop. Runs until `signal` aborts. Wakes every `tickMs` (default 5 s) to re-read
 * carebox.json (schedule changes apply without a restart), and runs a backup when one is due.
 */
export async function runScheduler(
  root: string,
  opts: { signal: AbortSignal; tickMs?: number; reporter: StepReporter; log: (line: string) => void; now?: () => Date },
): Promise<void> {
  const now = opts.now ?? (() => new Date());
  const tick = opts.tickMs ?? 5000;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      opts.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  // Heartbeat for the service's healthcheck (compose.render.ts), from a timer: it keeps beating
  // while a long backup awaits, and stops when the event loop hangs.
  const beat = () => void utimes(SCHEDULER_HEARTBEAT, new Date(), new Date()).catch(() => writeFile(SCHEDULER_HEARTBEAT, '').catch(() => undefined));
  beat();
  const heartbeat = setInterval(beat, 10_000);
  opts.signal.addEventListener('abort', () => clearInterval(heartbeat), { once: true });
  let m = await readManifest(root);
  let schedule = m?.backups?.schedule ?? null;
  if (m) await writeBackupMetrics(root, m);
  let due: Date | null = null;
  if (schedule) {
    const d = catchUp(schedule, m?.backups?.status?.lastAttemptAt ?? null, now());
    if (d.missed) {
      opts.log(`a scheduled backup was missed (due ${d.missedAt}); running it now`);
      await updateBackupStatus(root, (s) => ({ ...s, scheduleMissedAt: now().toISOString() }));
      due = now();
    } else {
      due = d.next ? new Date(d.next) : null;
    }
    opts.log(`schedule ${schedule.cron} (${schedule.timezone})${schedule.enabled ? '' : ' is off'}; next run ${due?.toISOString() ?? 'never'}`);
  } else opts.log('no backup schedule in carebox.json; waiting for `carebox backup schedule --at HH:MM`');
  while (!opts.signal.aborted) {
    if (due && schedule?.enabled && now().getTime() >= due.getTime()) {
      opts.log(`scheduled backup starting (due ${due.toISOString()})`);
      await scheduledRun(root, opts.reporter, opts.log);
      due = schedule ? nextRun(schedule, now()) : null;
      opts.log(`next run ${due?.toISOString() ?? 'never'}`);
    }
    await sleep(due ? Math.max(50, Math.min(tick, due.getTime() - now().getTime())) : tick);
    m = await readManifest(root).catch(() => m);
    const latest = m?.backups?.schedule ?? null;
    if (!sameSchedule(latest, schedule)) {
      schedule = latest;
      due = schedule && schedule.enabled ? nextRun(schedule, now()) : null;
      opts.log(
        `schedule changed: ${schedule ? `${schedule.cron} (${schedule.timezone})${schedule.enabled ? '' : ' off'}` : 'none'}; next run ${due?.toISOString() ?? 'never'}`,
      );
    }
  }
}
