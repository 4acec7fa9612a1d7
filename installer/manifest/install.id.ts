/**
 * The install id: a random UUID (v4) recorded in carebox.json on the first install and kept by
 * install re-runs, upgrades and restores (none of them replaces carebox.json's id). Backups record
 * it, and `carebox restore` tells "a backup of this install" from "another install's" by it, never
 * by the Compose project name (every install at the default root is called `carebox`).
 */
import { randomUUID } from 'node:crypto';

/** Shape of an install id: a lower-case UUID. */
export const INSTALL_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The id to record: the one already recorded (a re-run, an upgrade), else a new random one (a first
 * install, or an install from before ids existed: it gets one on its next install or upgrade).
 */
export function installIdFor(previous: { installId?: string | null } | null, generate: () => string = randomUUID): string {
  const recorded = previous?.installId;
  return typeof recorded === 'string' && INSTALL_ID_RE.test(recorded) ? recorded : generate();
}
