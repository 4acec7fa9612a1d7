/**
 * The stack's backup scheduler (the `scheduler` service: the Carebox CLI running `scheduler run`)
 * and the scratch PostgreSQL of its nightly restore drill (console/ops/restore.drill.ts). Both enter
 * the memory budget when backups are scheduled (`intent.backups`), taken before PostgreSQL's share
 * like Redis, nginx and monitoring. Pure.
 */
const MiB = 1024 ** 2;

/** `install --backup-at` → the plan: `scheduled` runs the scheduler and its drill in the stack; `manual` runs neither. */
export const BACKUP_MODES = ['scheduled', 'manual'] as const;
export type BackupMode = (typeof BACKUP_MODES)[number];

/**
 * Memory limit of the scheduler service, bytes: 128 MiB. Measured on this product (2026-12-07):
 * 32 MiB resident idle between runs, 90 MiB at most while it runs a backup (Node.js, dockerode,
 * one `docker`/`compose` child); the rest is room for the drill's result parsing.
 */
export const SCHEDULER_BYTES = 128 * MiB;
/** CPUs of the scheduler service: half a CPU (it waits on pg_dump and restic, which run elsewhere). */
export const SCHEDULER_CPUS = 0.5;
/**
 * Memory limit of the drill's scratch PostgreSQL, bytes: 256 MiB. It runs with shared_buffers
 * 32 MiB, maintenance_work_mem 64 MiB (index builds during pg_restore) and 10 connections
 * ({@link DRILL_POSTGRES_SETTINGS}): PG_FIXED_OVERHEAD 48 MiB + those + pg_restore's own
 * connection, with room to spare. A larger database takes longer, not more memory.
 */
export const DRILL_BYTES = 256 * MiB;
/** PostgreSQL settings of the drill's scratch server (`-c name=value`), sized to fit DRILL_BYTES. */
export const DRILL_POSTGRES_SETTINGS = {
  shared_buffers: '32MB',
  maintenance_work_mem: '64MB',
  work_mem: '4MB',
  max_connections: '10',
  fsync: 'off',
  full_page_writes: 'off',
} as const;

/**
 * Memory limit of the scheduler service for a plan from before scheduled backups entered the budget
 * (no `sizing.scheduler`), bytes: what such stacks ran with. New plans size it ({@link schedulerSizing}).
 */
export const LEGACY_SCHEDULER_MEMORY_BYTES = 256 * MiB;
/** pids limit of the scheduler service (Node.js threads, one docker/compose child at a time). */
export const SCHEDULER_PIDS = 128;

/** What the plan sets aside for scheduled backups. */
export interface SchedulerSizing {
  /** Limit of the scheduler service, bytes. */
  memoryBytes: number;
  /** CPUs of the scheduler service. */
  cpus: number;
  /** Limit of the drill's scratch PostgreSQL container, bytes (it runs only after a backup). */
  drillMemoryBytes: number;
}

/** The scheduler's sizing with its derivations; `cpus` is capped at the host's usable CPUs. */
export function schedulerSizing(cpus: number): { value: SchedulerSizing; derivations: Record<string, string> } {
  const c = Math.min(SCHEDULER_CPUS, cpus);
  return {
    value: { memoryBytes: SCHEDULER_BYTES, cpus: c, drillMemoryBytes: DRILL_BYTES },
    derivations: {
      memoryBytes: 'scheduler 128 MiB: measured 32 MiB idle and 90 MiB at most during a backup (Carebox measurement)',
      cpus: `scheduler cpus ${c} = min(0.5, usable CPUs ${cpus}): it waits on pg_dump and restic`,
      drillMemoryBytes: 'restore drill 256 MiB: a scratch PostgreSQL with shared_buffers 32 MiB and maintenance_work_mem 64 MiB, only after a scheduled backup',
    },
  };
}

/** Memory the scheduler and its drill take from the host's budget, bytes. */
export function schedulerBytes(s: SchedulerSizing): number {
  return s.memoryBytes + s.drillMemoryBytes;
}
