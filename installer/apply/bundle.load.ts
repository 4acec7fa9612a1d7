/**
 * Offline bundles (air-gapped installs and upgrades): one tar(.gz) file holding every image a stack
 * runs (one `docker save` export, so shared layers are stored once), the templates those images go
 * with, and an index with the image references, their ids and sha256 checksums. `carebox bundle
 * create` writes one on a connected machine; `install --bundle` and `upgrade --bundle` load it
 * through the Docker API (`docker load`), never a registry.
 *
 * Layout inside the archive:
 *   carebox-bundle.json                       the index (BundleIndex)
 *   images.tar                                `docker save` of every image
 *   templates/compose-templates/*, templates/nginx/*
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import * as tar from 'tar';
import { z } from 'zod';
import { OperationError, UsageError } from '../errors.js';
import { DEFAULT_IMAGES, imageRefSchema, type StackImages } from '../render/images.map.js';
import { loadTemplates, type Templates } from '../render/templates.load.js';
import { imageExists } from './images.ensure.js';
import type { CliRecord } from '../manifest/manifest.js';

export const BUNDLE_INDEX = 'carebox-bundle.json';
export const BUNDLE_IMAGES = 'images.tar';
export const BUNDLE_TEMPLATES = 'templates';

/** The bundle's index. */
export const bundleIndexSchema = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal('carebox-bundle'),
  /** ISO-8601 UTC. */
  createdAt: z.string(),
  carebox: z.object({ version: z.string() }),
  /**
   * Image reference per role; `server` is required, the others as the source stack had them.
   * `cli` (release bundles, `npm run release`): the containerised Carebox CLI of this version,
   * which the launcher (cli/carebox.sh) runs; not a stack service.
   */
  images: z
    .object({
      postgres: imageRefSchema.optional(),
      redis: imageRefSchema.optional(),
      nginx: imageRefSchema.optional(),
      pgbouncer: imageRefSchema.optional(),
      node: imageRefSchema.optional(),
      // Monitoring (a source stack with --alerts stack).
      prometheus: imageRefSchema.optional(),
      alertmanager: imageRefSchema.optional(),
      nodeExporter: imageRefSchema.optional(),
      postgresExporter: imageRefSchema.optional(),
      redisExporter: imageRefSchema.optional(),
      blackboxExporter: imageRefSchema.optional(),
      // restic: off-host backup copies and `restore --from-restic` (release bundles; a stack that has it).
      restic: imageRefSchema.optional(),
      server: imageRefSchema,
      cli: imageRefSchema.optional(),
    })
    .strict(),
  /** Docker image id (sha256:…) per reference, checked after loading. */
  imageIds: z.record(z.string(), z.string().regex(/^sha256:[a-f0-9]{64}$/)),
  imagesTar: z.object({ path: z.literal(BUNDLE_IMAGES), sha256: z.string().regex(/^[a-f0-9]{64}$/), bytes: z.number().int().nonnegative() }),
  /** sha256 per template file, by path under templates/. */
  templates: z.record(z.string(), z.string().regex(/^[a-f0-9]{64}$/)),
});
export type BundleIndex = z.infer<typeof bundleIndexSchema>;

/** sha256 of a file, hex, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function parseIndex(text: string, file: string): BundleIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`${file}: ${BUNDLE_INDEX} is not JSON`, 'make the bundle again with `carebox bundle create`');
  }
  const r = bundleIndexSchema.safeParse(json);
  if (!r.success)
    throw new UsageError(
      `${file}: not a Carebox bundle (${r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')})`,
      'make the bundle with `carebox bundle create`',
    );
  return r.data;
}

async function extract(file: string, cwd: string, only?: (path: string) => boolean): Promise<void> {
  try {
    await fs.access(file);
  } catch {
    throw new UsageError(`--bundle ${file}: no such file`);
  }
  try {
    await tar.x({ file, cwd, strict: true, ...(only ? { filter: (p: string) => only(p.replace(/^\.\//, '')) } : {}) });
  } catch (err) {
    throw new UsageError(
      `--bundle ${file}: cannot read it as a tar archive (${(err as Error).message})`,
      'copy the bundle again (checksum it on both machines) or make a new one',
    );
  }
}

/**
 * Read only the index of a bundle (for `--render-only` and previews).
 * @throws UsageError when the file is missing, not a tar archive, or not a Carebox bundle.
 */
export async function readBundleIndex(file: string): Promise<BundleIndex> {
  const tmp = await mkdtemp(join(tmpdir(), 'carebox-bundle-'));
  try {
    await extract(file, tmp, (p) => p === BUNDLE_INDEX);
    const text = await fs.readFile(join(tmp, BUNDLE_INDEX), 'utf8').catch(() => null);
    if (text === null) throw new UsageError(`--bundle ${file}: no ${BUNDLE_INDEX} inside`, 'make the bundle with `carebox bundle create`');
    return parseIndex(text, file);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The stack images a bundle provides (not the CLI's); roles it lacks fall back to `fallback` (the pinned defaults). Pure. */
export function bundleImages(index: BundleIndex, fallback: Omit<StackImages, 'server'> = DEFAULT_IMAGES): StackImages {
  const { cli: _cli, ...stack } = index.images;
  return { ...fallback, ...stack } as StackImages;
}

/** The CLI a release bundle carries: its image and the Carebox version; null for a bundle without one. Pure. */
export function bundleCli(index: BundleIndex): CliRecord | null {
  return index.images.cli ? { image: index.images.cli, version: index.carebox.version } : null;
}

/** Whether every reference exists locally with the recorded image id. */
async function allLoaded(docker: Docker, imageIds: Record<string, string>): Promise<boolean> {
  for (const [ref, id] of Object.entries(imageIds)) {
    const info = await docker
      .getImage(ref)
      .inspect()
      .catch(() => null);
    if (info?.Id !== id) return false;
  }
  return true;
}

/** A loaded bundle. */
export interface LoadedBundle {
  index: BundleIndex;
  images: StackImages;
  /** The CLI image it carried (loaded with the others), or null. */
  cli: CliRecord | null;
  /** The templates shipped with the images (what the stack is rendered from). */
  templates: Templates;
}

/**
 * Load a bundle: extract the index and templates to a scratch directory and check every template
 * against the index's sha256; unless every image is already present with its recorded id, extract
 * images.tar, check its sha256, `docker load` it through the API, and check that every reference
 * now exists with the recorded image id.
 * @throws UsageError for a missing or malformed bundle; OperationError for a checksum mismatch (a
 *   corrupt copy) or a failed load.
 */
export async function loadBundle(docker: Docker, file: string, onProgress: (m: string) => void = () => undefined): Promise<LoadedBundle> {
  const tmp = await mkdtemp(join(tmpdir(), 'carebox-bundle-'));
  try {
    onProgress(`reading ${file}`);
    await extract(file, tmp, (p) => p === BUNDLE_INDEX || p === BUNDLE_TEMPLATES || p.startsWith(`${BUNDLE_TEMPLATES}/`));
    const text = await fs.readFile(join(tmp, BUNDLE_INDEX), 'utf8').catch(() => null);
    if (text === null) throw new UsageError(`--bundle ${file}: no ${BUNDLE_INDEX} inside`, 'make the bundle with `carebox bundle create`');
    const index = parseIndex(text, file);
    for (const [path, want] of Object.entries(index.templates)) {
      const got = await sha256File(join(tmp, BUNDLE_TEMPLATES, path)).catch(() => null);
      if (got !== want)
        throw new OperationError(`--bundle ${file}: template ${path} ${got ? 'does not match its sha256' : 'is missing'}`, 'copy the bundle again');
    }
    const templates = loadTemplates(join(tmp, BUNDLE_TEMPLATES));
    // An image id is the sha256 of the image's config, which names every layer's content: when each
    // reference already has the recorded id (the launcher loaded this bundle to start the CLI, or
    // an earlier run did), loading again would change nothing.
    if (await allLoaded(docker, index.imageIds)) {
      onProgress(`all ${Object.keys(index.imageIds).length} images of ${file} are already loaded (same image ids)`);
      return { index, images: bundleImages(index), cli: bundleCli(index), templates };
    }
    onProgress(`extracting ${BUNDLE_IMAGES} from ${file}`);
    await extract(file, tmp, (p) => p === BUNDLE_IMAGES);
    const tarPath = join(tmp, BUNDLE_IMAGES);
    const sum = await sha256File(tarPath).catch(() => null);
    if (sum !== index.imagesTar.sha256)
      throw new OperationError(
        `--bundle ${file}: ${BUNDLE_IMAGES} ${sum ? 'does not match its sha256 in the index (corrupt copy)' : 'is missing'}`,
        'copy the bundle again and compare `sha256sum` on both machines',
      );
    onProgress(`loading ${Object.keys(index.imageIds).length} images (${Math.round(index.imagesTar.bytes / 1024 / 1024)} MiB) through the Docker API`);
    const stream = await docker.loadImage(createReadStream(tarPath), { quiet: true });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
        const failed = (events ?? []).find((e) => e.error || e.errorDetail);
        if (err || failed)
          reject(
            new OperationError(
              `docker load of ${file} failed: ${err?.message ?? failed?.error ?? failed?.errorDetail?.message}`,
              "check free space in Docker's data root (docker system df)",
            ),
          );
        else resolve();
      }),
    );
    for (const [ref, id] of Object.entries(index.imageIds)) {
      if (!(await imageExists(docker, ref)))
        throw new OperationError(`image ${ref} is not present after loading ${file}`, 'make the bundle again with `carebox bundle create`');
      const info = await docker.getImage(ref).inspect();
      if (info.Id !== id)
        throw new OperationError(
          `image ${ref} has id ${info.Id} after loading, the bundle recorded ${id}`,
          'another image took the tag; remove it (docker rmi) and retry',
        );
    }
    return { index, images: bundleImages(index), cli: bundleCli(index), templates };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
