/**
 * Re-render an installed stack's files for a changed plan or images, with the manifest's project,
 * port and bind address and the install root's own secrets. The same renderer as `install`, so a
 * later `install` re-run renders the same bytes.
 */
import { loadSecrets, ROLE_SECRET_KEYS } from '../../installer/apply/secrets.store.js';
import { OperationError } from '../../installer/errors.js';
import type { Manifest } from '../../installer/manifest/manifest.js';
import type { Plan } from '../../installer/plan/plan.types.js';
import type { StackImages } from '../../installer/render/images.map.js';
import { checksum, renderStack, type RenderedFile } from '../../installer/render/render.js';
import { loadTemplates, type Templates } from '../../installer/render/templates.load.js';
import { CAREBOX_VERSION } from '../../installer/version.js';

/**
 * Render every file of the install root for `plan` and `images`.
 * @param opts.newRoleSecrets allow generating the database role passwords an install from before
 *   those roles lacks (upgrade, which then creates the roles before anything logs in with them)
 * @throws OperationError when .env lacks a secret (regenerating it would lock the stack out of
 *   its own database), naming the backup to restore it from.
 */
export async function renderForStack(
  root: string,
  m: Manifest,
  plan: Plan,
  images: StackImages,
  templates: Templates = loadTemplates(),
  version: string = CAREBOX_VERSION,
  opts: { newRoleSecrets?: boolean } = {},
): Promise<RenderedFile[]> {
  const env = await loadSecrets(root);
  const missingRoles = env.generated.filter((k) => ROLE_SECRET_KEYS.has(k));
  if (missingRoles.length > 0 && missingRoles.length === env.generated.length && !opts.newRoleSecrets) {
    throw new OperationError(
      `.env in ${root} lacks ${missingRoles.join(', ')}: this install predates the separate database roles`,
      'run `carebox upgrade` (or `carebox install --yes` again) first: it creates the roles and keeps the data',
    );
  }
  if (env.generated.some((k) => !ROLE_SECRET_KEYS.has(k))) {
    throw new OperationError(
      `.env in ${root} lacks ${env.generated.join(', ')}`,
      'restore .env from backups/ (a full backup holds it); never generate new database secrets for an existing stack',
    );
  }
  return renderStack({
    plan,
    env,
    images,
    options: {
      project: m.project,
      httpPort: m.http.port,
      bindAddress: m.http.bindAddress,
      httpsPort: m.http.tls?.httpsPort ?? null,
      trustedProxies: m.http.trustedProxies ?? [],
      version,
      dockerRoot: (m.facts as { docker?: { dataRoot?: string | null } }).docker?.dataRoot ?? null,
      alerts: m.alerts ?? null,
      installRoot: root,
    },
    templates,
  });
}

/** Checksums of rendered files, as the manifest records them. Pure. */
export function fileChecksums(files: RenderedFile[]): Record<string, string> {
  return Object.fromEntries(files.map((f) => [f.path, checksum(f.content)]));
}

// Moved to installer/apply/files.write.ts (applyChange puts files back); re-exported for upgrade.
export { currentContents, putBackFiles } from '../../installer/apply/files.write.js';

/**
 * Refuse to re-render with templates of another Carebox version than the one that installed the
 * stack: that is `carebox upgrade`'s job (it backs up, migrates and rolls back on failure).
 * @throws OperationError with the upgrade as the hint.
 */
export function assertSameVersion(m: Manifest, op: string, version: string = CAREBOX_VERSION): void {
  if (m.carebox.version !== version) {
    throw new OperationError(
      `the stack runs Carebox ${m.carebox.version} but this CLI is ${version}; ${op} would also apply the new version's templates`,
      'run `carebox upgrade` first, then retry',
    );
  }
}
