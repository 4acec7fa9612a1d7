import { join } from 'node:path';
import { z } from 'zod';
import { OperationError } from '../errors.js';
import type { HostFacts } from '../detect/host-facts.js';
import type { Intent, Plan, Tier } from '../plan/plan.types.js';
import type { StackImages } from '../render/images.map.js';
import { INSTALL_FILES } from '../paths.js';
import { readIfExists } from '../apply/fs.atomic.js';

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
  /** Compose project name; containers are found by its label. */
  project: string;
  installRoot: string;
  http: { port: number; bindAddress: string };
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
}

/** Shallow schema: validates the envelope; nested plan/facts are Carebox's own output. */
const manifestSchema = z
  .object({
    schemaVersion: z.literal(1),
    carebox: z.object({ version: z.string() }),
    project: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
    installRoot: z.string(),
    http: z.object({ port: z.number().int().min(1).max(65535), bindAddress: z.string() }),
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
    throw new OperationError(`${path} is not a Carebox manifest: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'restore it from backups/config-*/carebox.json');
  }
  return r.data as unknown as Manifest;
}

/** Read the manifest of an install root; null when there is none (not installed yet). */
export async function readManifest(root: string): Promise<Manifest | null> {
  const text = await readIfExists(join(root, INSTALL_FILES.manifest));
  return text === null ? null : parseManifest(text, join(root, INSTALL_FILES.manifest));
}

/**
 * Read the manifest of an install root that must exist.
 * @throws OperationError when Carebox is not installed there.
 */
export async function requireManifest(root: string): Promise<Manifest> {
  const m = await readManifest(root);
  if (!m) throw new OperationError(`no Carebox install at ${root} (carebox.json is missing)`, 'pass --dir DIR (or CAREBOX_DIR) for another install root, or run `carebox install` first');
  return m;
}
