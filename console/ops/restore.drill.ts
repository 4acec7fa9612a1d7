/**
 * The restore drill: proves a backup restores, without touching the running stack.
 *
 * A scratch PostgreSQL container from the stack's own postgres image (no network, its own anonymous
 * volume, a random password it never needs: the local socket trusts local connections) receives the
 * backup's dump through `pg_restore`; its row counts and per-table checksums (psql.ts) are compared
 * with the values backup.json recorded in the dump's snapshot; its `knex_migrations` is compared with
 * the migrations the running server image knows (none may be missing: the migrations' check). The
 * scratch container and its volume are removed in every case. The result (time, duration, pass or
 * fail, why, and the class of a failure: DrillFailureReason) goes to carebox.json (`backups.status.drill`) and the metrics file.
 */
import { DRILL_BYTES, DRILL_POSTGRES_SETTINGS } from '../../installer/plan/scheduler.sizing.js';
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { OperationError } from '../../installer/errors.js';
import type { DrillFailureReason, DrillRecord } from '../../installer/backup/backup.status.js';
import { execIn } from '../../installer/runtime/container.exec.js';
import {
  CANONICAL_TEXT_SQL,
  DB_NAME,
  DB_USER,
  parseChecksums,
  parseRowCounts,
  psqlRows,
  ROW_COUNTS_SQL,
  TABLE_CHECKSUMS_SQL,
} from '../../installer/runtime/psql.js';
import { BACKUP_MANIFEST, DUMP_FILE, type BackupManifest } from './backup.ops.js';
import { updateBackupStatus } from './backup.metrics.js';
import { imageMigrations } from './migration.plan.js';
import type { Stack } from './stack.js';
import { promises as fs } from 'node:fs';

/** Label on every scratch container, so a leftover (a killed scheduler) can be found and removed. */
export const DRILL_LABEL = 'com.carebox.restore-drill';

/**
 * Compare what the scratch database holds with what backup.json recorded: every table's row count,
 * and its checksum when the backup has checksums (older backups do not). Pure.
 * @returns one line per mismatch, empty when everything matches.
 */
export function compareDrill(
  expected: { tables: Record<string, number>; checksums?: Record<string, string> },
  gotCounts: Record<string, number>,
  gotSums: Record<string, string>,
): string[] {
  const out: string[] = [];
  for (const [t, n] of Object.entries(expected.tables)) {
    if (gotCounts[t] === undefined) out.push(`${t}: missing after restore (backup has ${n} rows)`);
    else if (gotCounts[t] !== n) out.push(`${t}: ${gotCounts[t]} rows restored, backup has ${n}`);
    else if (expected.checksums && expected.checksums[t] !== undefined && gotSums[t] !== expected.checksums[t])
      out.push(`${t}: checksum differs (same ${n} rows, different contents)`);
  }
  for (const t of Object.keys(gotCounts)) if (expected.tables[t] === undefined) out.push(`${t}: restored but not in backup.json`);
  return out;
}

/** A drill step that failed, with the class of its failure (DrillRecord.reason). */
export class DrillFailure extends OperationError {
  constructor(
    readonly reason: DrillFailureReason,
    message: string,
  ) {
    super(message);
  }
}

/** Migrations the running server knows that the restored database lacks, in order. Pure. */
export function missingMigrations(known: string[], applied: string[]): string[] {
  const have = new Set(applied);
  return known.filter((n) => !have.has(n));
}

async function waitReady(docker: Docker, id: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let i = 0; i < 600 && Date.now() < until; i++) {
    // TCP, not the socket: the image's first-start init runs a socket-only server before the real one.
    const r = await execIn(docker, id, ['pg_isready', '-h', '127.0.0.1', '-U', DB_USER, '-d', DB_NAME], { timeoutMs: 10_000 }).catch(() => ({ code: 1 }));
    if (r.code === 0) return;
    const st = (await docker.getContainer(id).inspect()).State;
    if (!st.Running) {
      const logs = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: 5 }))
        .toString('utf8')
        .replace(/[\x00-\x08]/g, '')
        .trim();
      throw new DrillFailure('scratch_failed', `the scratch PostgreSQL exited (code ${st.ExitCode}): ${logs.split('\n').slice(-3).join(' ').slice(0, 300)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new DrillFailure('scratch_failed', `the scratch PostgreSQL did not become ready within ${Math.round(timeoutMs / 1000)} s`);
}

/**
 * Run the drill on backup `dir` (a verified backup directory of this stack) and record the result.
 * Never throws for a failed drill: the result says why. @returns the record written.
 * @throws OperationError only when carebox.json cannot be written.
 */
export async function runRestoreDrill(stack: Stack, dir: string, onProgress: (msg: string) => void = () => undefined): Promise<DrillRecord> {
  const t0 = Date.now();
  const at = new Date(t0).toISOString();
  const bm = JSON.parse(await fs.readFile(join(dir, BACKUP_MANIFEST), 'utf8')) as BackupManifest;
  let why: string | null = null;
  let reason: DrillFailureReason | null = null;
  let container: Docker.Container | null = null;
  try {
    container = await stack.docker.createContainer({
      Image: stack.manifest.images.postgres,
      // As root, the image's entrypoint prepares its directories and drops to the postgres user.
      // Sized to fit the plan's drill memory (scheduler.sizing.ts): small buffers, no durability (scratch).
      Cmd: ['postgres', ...Object.entries(DRILL_POSTGRES_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
      Env: [`POSTGRES_USER=${DB_USER}`, `POSTGRES_DB=${DB_NAME}`, `POSTGRES_PASSWORD=${randomBytes(24).toString('base64url')}`],
      Labels: { [DRILL_LABEL]: bm.stamp, 'com.carebox.install-root': stack.root },
      HostConfig: {
        NetworkMode: 'none',
        Memory: stack.manifest.plan.sizing.scheduler?.drillMemoryBytes ?? DRILL_BYTES,
        SecurityOpt: ['no-new-privileges:true'],
      },
    });
    await container.start().catch((err: Error) => {
      throw new DrillFailure('scratch_failed', `the scratch PostgreSQL did not start: ${err.message}`);
    });
    onProgress('scratch PostgreSQL started');
    await waitReady(stack.docker, container.id, 180_000);
    const r = await execIn(
      stack.docker,
      container.id,
      ['pg_restore', '--exit-on-error', '--single-transaction', '--no-owner', '--no-privileges', '-U', DB_USER, '-d', DB_NAME],
      { stdin: createReadStream(join(dir, DUMP_FILE)), timeoutMs: 6 * 60 * 60_000 },
    );
    if (r.code !== 0)
      throw new DrillFailure('restore_failed', `pg_restore failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300)}`);
    onProgress('dump restored; comparing row counts and checksums');
    const counts = parseRowCounts(await psqlRows(stack.docker, container.id, ROW_COUNTS_SQL, { timeoutMs: 60 * 60_000 }));
    const sums = parseChecksums(await psqlRows(stack.docker, container.id, `${CANONICAL_TEXT_SQL}\n${TABLE_CHECKSUMS_SQL}`, { timeoutMs: 60 * 60_000 }));
    const diff = compareDrill(bm, counts, sums);
    if (diff.length > 0)
      throw new DrillFailure(
        'data_mismatch',
        `restored data differs from backup.json: ${diff.slice(0, 5).join('; ')}${diff.length > 5 ? ` (+${diff.length - 5} more)` : ''}`,
      );
    const applied = (await psqlRows(stack.docker, container.id, 'SELECT name FROM knex_migrations ORDER BY id;')).map((row) => row[0]!);
    const { all, unknownReason } = await imageMigrations(stack.manifest.images.server, stack.env);
    if (!all) throw new OperationError(`the server image cannot list its migrations: ${unknownReason}`);
    const missing = missingMigrations(
      all.map((m) => m.name),
      applied,
    );
    if (missing.length > 0)
      throw new DrillFailure(
        'migrations_missing',
        `the restored database lacks ${missing.length} migration(s) the running server has: ${missing.slice(0, 3).join(', ')}`,
      );
    onProgress(`${Object.keys(counts).length} tables match; ${applied.length} migrations, none missing`);
  } catch (err) {
    why = (err as Error).message.slice(0, 500);
    reason = err instanceof DrillFailure ? err.reason : 'error';
  } finally {
    if (container) await container.remove({ force: true, v: true }).catch(() => undefined);
  }
  const rec: DrillRecord = { at, stamp: bm.stamp, durationMs: Date.now() - t0, ok: why === null, why, reason, tables: Object.keys(bm.tables).length };
  await updateBackupStatus(stack.root, (s) => ({ ...s, drill: rec, drillLastSuccessAt: rec.ok ? at : s.drillLastSuccessAt }));
  return rec;
}
