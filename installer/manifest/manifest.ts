import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { OperationError } from '../errors.js';
import type { HostFacts } from '../detect/host-facts.js';
import type { Intent, Plan, Tier } from '../plan/plan.types.js';
import type { StackImages } from '../render/images.map.js';
import type { AlertSettings } from '../render/monitoring.render.js';
import { INSTALL_FILES } from '../paths.js';
import { readIfExists, writeFileAtomic } from '../apply/fs.atomic.js';
import type { EdgeSettings } from '../apply/edge.tls.js';
import type { BackupSchedule } from '../backup/backup.schedule.js';
import type { OffsiteRepo, Retention } from '../backup/offsite.config.js';
import type { BackupStatus } from '../backup/backup.status.js';

/** One applied change of the stack's shape, kept forever in the manifest. */
export interface HistoryEntry {
  /** ISO-8601 UTC time it was applied. */
  appliedAt: string;
  action: 'install' | 'retier' | 'scale' | 'upgrade' | 'restore';
  tier: Tier;
  /** One line: what changed (`horizontal → default`, `backend 1 → 3`). */
  summary: string;
}

/**
 * carebox.json: what the install root holds and why. Written atomically by apply; read by the
 * console, re-tier, upgrade and support bundles. Contains no secrets (only file checksums).
 */
export interface Manifest {
  schemaVersion: 1;
  carebox: { version: string };
  /**
   * Random id of this install (a UUID), created on the first install and kept by re-runs,
   * upgrades and restores (install.id.ts). Backups record it; restore decides "another install"
   * by it. Absent only in a manifest written before ids existed, until the next install or upgrade.
   */
  installId?: string;
  /** Compose project name; containers are found by its label. */
  project: string;
  installRoot: string;
  /** The edge: HTTP port and bind address, and TLS when nginx terminates it (installer/apply/edge.tls.ts). */
  http: EdgeSettings;
  /** First install, ISO-8601 UTC. */
  installedAt: string;
  /** Last apply that changed files, images or sizing, ISO-8601 UTC. */
  appliedAt: string;
  facts: HostFacts;
  intent: Intent;
  plan: Plan;
  images: StackImages;
  /** sha256 of every rendered file, by path relative to the root. */
  files: Record<string, string>;
  history: HistoryEntry[];
  /**
   * Replica counts set by `carebox scale` on top of the tier's plan (plan.sizing already holds
   * them). A re-run of `install` with the same tier keeps them; `retier` clears them. Absent or
   * null when the stack runs the planner's counts.
   */
  scale?: ScaleOverride | null;
  /** Backup settings (`carebox backup --keep N` records its retention here). */
  backups?: BackupSettings;
  /**
   * Where alerts go (install --alert-email / --alert-webhook; installer/render/monitoring.render.ts).
   * Absent in manifests written before alerts, and when none was given.
   */
  alerts?: AlertSettings;
  /**
   * The CLI that installed or last upgraded the stack (a release's CLI image, which the launcher
   * runs; see cli.record.ts). Absent in manifests written before releases carried a CLI.
   */
  cli?: CliRecord | null;
}

/** A Carebox CLI: its version and, for a release's containerised CLI, its image (null: run from source). */
export interface CliRecord {
  version: string;
  image: string | null;
}

/** Replica counts an admin chose with `carebox scale`, and under which tier and terms. */
export interface ScaleOverride {
  /** The tier the counts apply to; a plan for another tier ignores them. */
  tier: Tier;
  /** Replicas per scalable service, e.g. `{ backend: 3 }`. */
  replicas: Partial<Record<'backend' | 'worker', number>>;
  /** Whether the admin accepted CPU oversubscription (`--overcommit`). */
  overcommit: boolean;
  /** ISO-8601 UTC time of the scale. */
  appliedAt: string;
}

/** Backup settings kept in the manifest. */
export interface BackupSettings {
  /** Full backups kept under backups/ (oldest removed first). */
  keep: number;
  /** Directory name (UTC stamp) of the newest complete backup, or null. */
  last: string | null;
  /** When the stack's scheduler takes a backup (installer/backup/backup.schedule.ts); absent = no schedule. */
  schedule?: BackupSchedule | null;
  /** restic repositories every verified scheduled backup is copied to (installer/backup/offsite.config.ts). */
  offsite?: OffsiteRepo[];
  /** restic retention (default 7 daily, 4 weekly, 12 monthly). */
  retention?: Retention;
  /** What the backup side last did (installer/backup/backup.status.ts). */
  status?: BackupStatus;
}

/** Shallow schema: validates the envelope; nested plan/facts are Carebox's own output. */
const manifestSchema = z
  .object({
    schemaVersion: z.literal(1),
    carebox: z.object({ version: z.string() }),
    installId: z
      .string()
      .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      .optional(),
    project: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
    installRoot: z.string(),
    http: z.object({
      port: z.number().int().min(1).max(65535),
      bindAddress: z.string(),
      tls: z
        .object({ httpsPort: z.number().int().min(1).max(65535), subject: z.string(), notAfter: z.string(), fingerprint256: z.string() })
        .nullable()
        .optional(),
      trustedProxies: z.array(z.string()).optional(),
    }),
    installedAt: z.string(),
    appliedAt: z.string(),
    facts: z.record(z.string(), z.unknown()),
    intent: z.record(z.string(), z.unknown()),
    plan: z.object({ tier: z.string(), sizing: z.record(z.string(), z.unknown()) }).passthrough(),
    images: z.record(z.string(), z.string()),
    files: z.record(z.string(), z.string()),
    history: z.array(z.object({ appliedAt: z.string(), action: z.string(), tier: z.string(), summary: z.string() })),
  })
  .passthrough();

/** Serialize a manifest: 2-space JSON, trailing newline. Deterministic for the same object. */
export function renderManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/**
 * Parse carebox.json text.
 * @throws OperationError when it is not JSON or not a Carebox manifest (hint: restore from backups/).
 */
export function parseManifest(text: string, path: string = INSTALL_FILES.manifest): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new OperationError(`${path} is not valid JSON: ${(err as Error).message}`, 'restore it from backups/config-*/carebox.json');
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    throw new OperationError(
      `${path} is not a Carebox manifest: ${r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
      'restore it from backups/config-*/carebox.json',
    );
  }
  return r.data as unknown as Manifest;
}

/**
 * Read the manifest of an install root; null when there is none (not installed yet).
 * @throws OperationError when it is unreadable (permission denied) or not a Carebox manifest.
 */
export async function readManifest(root: string): Promise<Manifest | null> {
  let text: string | null;
  try {
    text = await readIfExists(join(root, INSTALL_FILES.manifest));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'ENOTDIR') {
      throw new OperationError(
        `${join(root, INSTALL_FILES.manifest)} is not a file (${code})`,
        `check --dir: ${root} must be a Carebox install root, where carebox.json is a file`,
      );
    }
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    throw new OperationError(
      `permission denied reading ${join(root, INSTALL_FILES.manifest)}`,
      'run carebox as root (the install root and its .env are readable by root only)',
    );
  }
  return text === null ? null : parseManifest(text, join(root, INSTALL_FILES.manifest));
}

/**
 * Write carebox.json atomically (mode 0640), first copying the current one to
 * `backups/config-<stamp>/carebox.json` so the previous state stays inspectable.
 * @param stamp UTC stamp (utcStamp()) naming the backup folder.
 * @throws NodeJS.ErrnoException on I/O errors.
 */
export async function writeManifest(root: string, m: Manifest, stamp: string): Promise<void> {
  const path = join(root, INSTALL_FILES.manifest);
  const old = await readIfExists(path);
  if (old !== null) await writeFileAtomic(join(root, INSTALL_FILES.backups, `config-${stamp}`, INSTALL_FILES.manifest), old, 0o640);
  await writeFileAtomic(path, renderManifest(m), 0o640);
  await pruneConfigBackups(root);
}

/** How many `backups/config-<stamp>/` folders (previous versions of replaced files) are kept. */
export const CONFIG_BACKUPS_KEPT = 50;

/**
 * Remove all but the newest `keep` `backups/config-<UTC stamp>/` folders (stamps sort by time).
 * Full backups (`backups/<stamp>/`) are not touched: `carebox backup --keep` governs those.
 * Never throws: a folder that cannot be removed stays.
 * @returns the folder names removed.
 */
export async function pruneConfigBackups(root: string, keep = CONFIG_BACKUPS_KEPT): Promise<string[]> {
  const dir = join(root, INSTALL_FILES.backups);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^config-\d{8}T\d{6}Z/.test(n)).sort();
  const old = names.slice(0, Math.max(0, names.length - keep));
  const removed: string[] = [];
  for (const n of old) {
    if (
      await rm(join(dir, n), { recursive: true, force: true }).then(
        () => true,
        () => false,
      )
    )
      removed.push(n);
  }
  return removed;
}

/**
 * Read the manifest of an install root that must exist.
 * @throws OperationError when Carebox is not installed there.
 */
export async function requireManifest(root: string): Promise<Manifest> {
  const m = await readManifest(root);
  if (!m)
    throw new OperationError(
      `no Carebox install at ${root} (carebox.json is missing)`,
      'pass --dir DIR (or CAREBOX_DIR) for another install root, or run `carebox install` first',
    );
  return m;
}
