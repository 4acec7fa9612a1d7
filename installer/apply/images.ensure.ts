import { promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { OperationError, UsageError } from '../errors.js';
import { DEFAULT_IMAGES, imagesFileSchema, type BaseImageName, type BaseImages, type ImagesMap } from '../render/images.map.js';
import { exec } from './exec.js';
import { serverBuildInputs, stageServerContext } from './server.image.js';

/**
 * The images map: pinned defaults overridden by an `--images FILE` (JSON object of
 * postgres/redis/nginx/pgbouncer/node → image reference, and optionally a prebuilt `server`).
 * @throws UsageError when the file is missing, not JSON, or has unknown keys or unpinned references.
 */
export async function loadImagesMap(file: string | null): Promise<ImagesMap> {
  if (!file) return { ...DEFAULT_IMAGES };
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--images ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--images ${file}: not valid JSON (${(err as Error).message})`, `expected e.g. {"postgres": "postgres:15.10-bookworm"}`);
  }
  const r = imagesFileSchema.safeParse(json);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ');
    throw new UsageError(`--images ${file}: ${msg}`, `allowed keys: ${Object.keys(DEFAULT_IMAGES).join(', ')}; each a pinned image reference`);
  }
  return { ...DEFAULT_IMAGES, ...r.data };
}

/** Whether an image exists locally. */
export async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/**
 * Make sure each base image is present: kept if local, else pulled from its registry.
 * @throws OperationError naming every image that is neither local nor pullable, with the
 *   air-gapped routes (--bundle, --images) as the hint.
 */
export async function ensureBaseImages(docker: Docker, images: BaseImages, needed: BaseImageName[], onProgress: (msg: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const name of needed) {
    const ref = images[name] ?? DEFAULT_IMAGES[name];
    if (await imageExists(docker, ref)) continue;
    onProgress(`pulling ${ref}`);
    try {
      const stream = await docker.pull(ref);
      await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      missing.push(`${name} (${ref}): ${String((err as Error).message ?? err).split('\n')[0]}`);
    }
  }
  if (missing.length > 0) {
    throw new OperationError(
      `images not available locally and not pullable:\n  ${missing.join('\n  ')}`,
      'on an air-gapped host, load an offline bundle (--bundle FILE, made with `carebox bundle create` on a connected machine) or point --images FILE at images you loaded or built',
    );
  }
}

/**
 * The server image, built locally from the compiled package: tag `carebox/server:<version>-<hash12>`
 * where the hash covers every input, so an unchanged package reuses the image (a re-run recreates
 * nothing) and a changed one gets a new tag.
 * @throws OperationError when dist/ is missing; ExternalCommandError when `docker build` fails.
 */
export async function ensureServerImage(
  docker: Docker,
  opts: { packageRoot: string; version: string; nodeImage: string; onProgress: (msg: string) => void },
): Promise<string> {
  const inputs = await serverBuildInputs(opts.packageRoot, opts.nodeImage);
  const tag = `carebox/server:${opts.version}-${inputs.hash.slice(0, 12)}`;
  if (await imageExists(docker, tag)) return tag;
  opts.onProgress(`building ${tag} on ${opts.nodeImage}`);
  const ctx = await mkdtemp(join(tmpdir(), 'carebox-server-'));
  try {
    await stageServerContext(inputs, ctx);
    await exec(
      ['docker', 'build', '--pull=false', '--build-arg', `NODE_IMAGE=${opts.nodeImage}`, '--label', `com.carebox.build-hash=${inputs.hash}`, '-t', tag, ctx],
      {
        timeoutMs: 20 * 60_000,
        onOutput: (s) =>
          s
            .split('\n')
            .filter((l) => /^Step \d+/.test(l))
            .forEach((l) => opts.onProgress(l.trim())),
        hint: `the server image build failed; check that ${opts.nodeImage} exists locally (docker image ls)`,
      },
    );
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
  return tag;
}
