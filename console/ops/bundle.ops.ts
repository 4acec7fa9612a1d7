/**
 * `carebox bundle create [--output FILE]`: one file for air-gapped hosts with every image the
 * install uses (a single `docker save` export through the API, so layers shared between images
 * are stored once), the templates they go with, and an index (references, image ids, sha256).
 * `install --bundle` / `upgrade --bundle` load it (installer/apply/bundle.load.ts).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import type Docker from 'dockerode';
import * as tar from 'tar';
import { BUNDLE_IMAGES, BUNDLE_INDEX, BUNDLE_TEMPLATES, sha256File, type BundleIndex } from '../../installer/apply/bundle.load.js';
import { checkNewOutputFile, utcStamp } from '../../installer/apply/fs.atomic.js';
import { imageExists } from '../../installer/apply/images.ensure.js';
import { DEFAULT_IMAGES, MONITORING_IMAGES, resticImage } from '../../installer/render/images.map.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { OperationError } from '../../installer/errors.js';
import type { Manifest } from '../../installer/manifest/manifest.js';
import { packageRoot } from '../../installer/paths.js';
import { CAREBOX_VERSION } from '../../installer/version.js';
import { step } from './stack.js';

/** Template files a bundle carries, relative to the package root. */
export const TEMPLATE_FILES = [
  'compose-templates/carebox.compose.yml',
  'compose-templates/postgresql.conf.eta',
  'compose-templates/redis.conf.eta',
  'compose-templates/pgbouncer.ini.eta',
  'nginx/nginx.conf.eta',
];

/** Default bundle file name: `carebox-bundle-<version>-<UTC stamp>.tar.gz`. Pure. */
export function defaultBundleName(version: string, stamp: string): string {
  return `carebox-bundle-${version}-${stamp}.tar.gz`;
}

/** What went into a bundle. */
export interface BundleResult {
  file: string;
  bytes: number;
  sha256: string;
  index: BundleIndex;
  tookMs: number;
}

/**
 * Stream `docker save` of several images (one export: `GET /images/get?names=…`) into `path`.
 * @returns sha256 and size of the tar.
 */
async function saveImages(docker: Docker, refs: string[], path: string): Promise<{ sha256: string; bytes: number }> {
  const stream = (await new Promise<NodeJS.ReadableStream>((resolvePromise, reject) =>
    docker.modem.dial(
      { path: '/images/get?', method: 'GET', options: { names: refs }, isStream: true, statusCodes: { 200: true, 404: 'no such image', 500: 'server error' } },
      (err: unknown, s: unknown) => (err ? reject(err) : resolvePromise(s as NodeJS.ReadableStream)),
    ),
  )) as NodeJS.ReadableStream;
  const out = createWriteStream(path, { mode: 0o600 });
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    h.update(chunk);
    bytes += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { sha256: h.digest('hex'), bytes };
}

/**
 * Write a bundle of the stack's images and the package's templates.
 * @param opts.output target file (`.tar.gz`/`.tgz` gzip-compressed, else plain tar); default
 *   `./carebox-bundle-<version>-<stamp>.tar.gz`.
 * @throws UsageError when --output names a missing directory or an existing file; OperationError when an image of the manifest is missing locally or the export fails.
 */
export async function createBundle(
  docker: Docker,
  m: Manifest,
  opts: { output?: string; includePgbouncer?: boolean },
  reporter: StepReporter,
): Promise<BundleResult> {
  const output = resolve(opts.output ?? defaultBundleName(CAREBOX_VERSION, utcStamp()));
  const roles: [string, string][] = [
    ['postgres', m.images.postgres],
    ['redis', m.images.redis],
    ['nginx', m.images.nginx],
    ['server', m.images.server],
  ];
  // PgBouncer is in the bundle whenever it exists here: the target host may plan a tier that needs it.
  if (opts.includePgbouncer !== false && (m.plan.sizing.pgbouncer || (await imageExists(docker, m.images.pgbouncer))))
    roles.push(['pgbouncer', m.images.pgbouncer]);
  // Prometheus, Alertmanager and the exporters when the stack runs them (--alerts stack).
  if (m.plan.sizing.monitoring) for (const k of MONITORING_IMAGES) roles.push([k, m.images[k] ?? DEFAULT_IMAGES[k]]);
  // restic (off-host copies, `restore --from-restic`): required when the install copies off-host, else whenever it exists here.
  const restic = resticImage(m.images);
  if ((m.backups?.offsite?.length ?? 0) > 0 || (await imageExists(docker, restic))) roles.push(['restic', restic]);
  return writeBundle(docker, roles, { output, version: CAREBOX_VERSION }, reporter);
}

/**
 * Write a bundle of the given images (role → reference; `cli` for a release's CLI image) and the
 * package's templates.
 * @param opts.output target file (`.tar.gz`/`.tgz` gzip-compressed, else plain tar); must not exist.
 * @param opts.version the Carebox version the bundle is of (its index's `carebox.version`).
 * @throws UsageError when the output names a missing directory or an existing file; OperationError
 *   when an image is missing locally or the export fails.
 */
export async function writeBundle(
  docker: Docker,
  roles: [string, string][],
  opts: { output: string; version: string },
  reporter: StepReporter,
): Promise<BundleResult> {
  const t0 = Date.now();
  const output = resolve(opts.output);
  await checkNewOutputFile(output);
  const missing: string[] = [];
  for (const [role, ref] of roles) if (!(await imageExists(docker, ref))) missing.push(`${role} (${ref})`);
  if (missing.length)
    throw new OperationError(
      `images of this install are missing locally: ${missing.join(', ')}`,
      'run `carebox install` (or `docker load`) so every image exists, then retry',
    );
  const tmp = await mkdtemp(join(tmpdir(), 'carebox-bundle-'));
  try {
    const imageIds: Record<string, string> = {};
    for (const [, ref] of roles) imageIds[ref] = (await docker.getImage(ref).inspect()).Id;
    const refs = [...new Set(roles.map(([, r]) => r))];
    const saved = await step(
      reporter,
      'save',
      `Export ${refs.length} images (docker save through the API)`,
      () => saveImages(docker, refs, join(tmp, BUNDLE_IMAGES)),
      (s) => `${(s.bytes / 1024 / 1024).toFixed(0)} MiB`,
    );
    const templates: Record<string, string> = {};
    for (const f of TEMPLATE_FILES) {
      const dest = join(tmp, BUNDLE_TEMPLATES, f);
      await fs.mkdir(join(dest, '..'), { recursive: true });
      await fs.copyFile(join(packageRoot(), f), dest);
      templates[f] = await sha256File(dest);
    }
    const index: BundleIndex = {
      schemaVersion: 1,
      kind: 'carebox-bundle',
      createdAt: new Date().toISOString(),
      carebox: { version: opts.version },
      images: Object.fromEntries(roles) as BundleIndex['images'],
      imageIds,
      imagesTar: { path: BUNDLE_IMAGES, sha256: saved.sha256, bytes: saved.bytes },
      templates,
    };
    await fs.writeFile(join(tmp, BUNDLE_INDEX), `${JSON.stringify(index, null, 2)}\n`);
    const gzip = /\.(tgz|gz)$/.test(output);
    await step(reporter, 'write', `Write ${output}`, async () => {
      const partial = `${output}.partial`;
      // gzip level 1: image layers compress well even at the fastest level, and this runs on the appliance's CPUs.
      await tar.c({ file: partial, cwd: tmp, portable: true, ...(gzip ? { gzip: { level: 1 } } : {}) }, [BUNDLE_INDEX, BUNDLE_IMAGES, BUNDLE_TEMPLATES]);
      await fs.rename(partial, output);
      return output;
    });
    const bytes = (await fs.stat(output)).size;
    return { file: output, bytes, sha256: await sha256File(output), index, tookMs: Date.now() - t0 };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
