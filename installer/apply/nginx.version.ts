/**
 * The nginx version inside an image, and the check that it can run Carebox's edge config: the
 * `upstream` block re-resolves `backend` with `resolve`, which open-source nginx has since 1.27.3
 * (MIN_NGINX_VERSION). An older image would fail `nginx -t` after the files were written; this
 * check refuses it before anything changes, with the fix.
 */
import { exec } from './exec.js';
import { CareboxError, OperationError, PreflightError } from '../errors.js';
import { compareVersions } from '../preflight/preflight.checks.js';
import { MIN_NGINX_VERSION } from '../plan/sizing.constants.js';
import { DEFAULT_IMAGES } from '../render/images.map.js';

/** `1.30.6` from `nginx -v` output (`nginx version: nginx/1.30.6`, maybe with ` (Ubuntu)`); null when absent. Pure. */
export function nginxVersionFromText(text: string): string | null {
  return /nginx\/(\d+\.\d+\.\d+)/.exec(text)?.[1] ?? null;
}

/**
 * Why `image` (whose `nginx -v` said `found`) cannot run the edge, or null when it can. Pure.
 * @param found version text from {@link nginxVersionFromText}, null when `nginx -v` printed none.
 * @param min oldest version the plan's config needs (plan.sizing.nginx.minVersion).
 */
export function nginxImageProblem(image: string, found: string | null, min: string = MIN_NGINX_VERSION): string | null {
  if (found === null) return `cannot tell the nginx version of ${image}: \`nginx -v\` printed no version`;
  if (compareVersions(found, min) < 0)
    return `nginx image ${image} has nginx ${found}; Carebox's edge needs nginx ≥ ${min} (\`resolve\` on upstream servers: keep-alive to the backends with live DNS)`;
  return null;
}

/** What to do about an nginx image that is too old or unreadable. */
export const NGINX_IMAGE_HINT = `use an nginx image ≥ ${MIN_NGINX_VERSION} (the default is ${DEFAULT_IMAGES.nginx}): set "nginx" in the --images file, or drop it to use the default`;

/**
 * `nginx -v` in a throwaway container of `image` (no network), parsed.
 * @returns the version, or null when the output has none.
 * @throws ExternalCommandError when Docker cannot run the image at all.
 */
export async function imageNginxVersion(image: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const r = await exec(['docker', 'run', '--rm', '--network', 'none', '--entrypoint', 'nginx', image, '-v'], { env, timeoutMs: 120_000, allowFailure: true });
  return nginxVersionFromText(r.stdout + r.stderr);
}

/**
 * Refuses an nginx image older than `min` before anything is written.
 * @param as `preflight` (install: PreflightError, exit 3) or `operation` (upgrade: OperationError,
 *   exit 1); both carry {@link NGINX_IMAGE_HINT}.
 * @returns the version found.
 * @throws PreflightError | OperationError as chosen by `as`.
 */
export async function assertNginxImage(image: string, min: string, as: 'preflight' | 'operation', env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const found = await imageNginxVersion(image, env);
  const problem = nginxImageProblem(image, found, min);
  if (problem !== null) {
    const err: CareboxError =
      as === 'preflight' ? new PreflightError(`preflight failed: ${problem}`, NGINX_IMAGE_HINT) : new OperationError(problem, NGINX_IMAGE_HINT);
    throw err;
  }
  return found!;
}
