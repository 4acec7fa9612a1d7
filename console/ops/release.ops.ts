/**
 * `npm run release`: the files a hospital copies to a server that has only Docker, each named with
 * the version:
 *   carebox-<V>.sh              the launcher (cli/carebox.sh with this release's CLI image)
 *   carebox-bundle-<V>.tar.gz   the offline bundle: every image a default install runs (the stack's,
 *                               Prometheus, Alertmanager and the exporters, restic for off-host
 *                               copies), the CLI image, the templates
 *   carebox-<V>.SHA256SUMS      `sha256sum -c` input for both
 * The CLI image travels inside the bundle (one `docker save`, so the layers it shares with the
 * server image, Node.js and Debian, are stored once); the launcher loads it from the bundle the
 * first time (`carebox install --bundle …`).
 */
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { sha256File } from '../../installer/apply/bundle.load.js';
import { ensureBaseImages, ensureServerImage } from '../../installer/apply/images.ensure.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { UsageError } from '../../installer/errors.js';
import { DEFAULT_IMAGES, MONITORING_IMAGES, type BaseImageName, type BaseImages } from '../../installer/render/images.map.js';
import { CAREBOX_VERSION } from '../../installer/version.js';
import { writeBundle, type BundleResult } from './bundle.ops.js';
import { ensureCliImage } from '../../installer/apply/cli.image.js';
import { step } from './stack.js';

/** What to release. */
export interface ReleaseRequest {
  packageRoot: string;
  /** Release version: an image tag (`0.2.0`, `0.2.0-rc.1`); default the package's. */
  version: string;
  /** Directory the three files are written to (created if missing; the files must not exist). */
  outDir: string;
  /**
   * Base images of the stack (and `node`, the base of the server and CLI images); monitoring and
   * restic default to the pinned images when absent.
   */
  images: BaseImages;
  /** Image with the Docker CLI and Compose v2 plugin (cli/Dockerfile's DOCKER_CLI_IMAGE). */
  dockerCliImage: string;
}

/** The release's files and what went into them. */
export interface ReleaseResult {
  version: string;
  launcher: { file: string; bytes: number; sha256: string };
  bundle: BundleResult;
  sums: string;
  /** Image references in the bundle by role (`cli` among them). */
  images: Record<string, string>;
  tookMs: number;
}

/**
 * Images a release bundle carries besides the server and CLI images, by role: everything a
 * default install runs on an air-gapped host (the stack, monitoring where it fits beside the
 * tier, the scheduler's restic for off-host copies and `restore --from-restic`). Pure.
 */
export function releaseBaseRoles(images: BaseImages): [BaseImageName, string][] {
  const names: BaseImageName[] = ['postgres', 'redis', 'nginx', 'pgbouncer', ...MONITORING_IMAGES, 'restic'];
  return names.map((n) => [n, images[n] ?? DEFAULT_IMAGES[n]]);
}

/** File names of a release. Pure. */
export function releaseFileNames(version: string): { launcher: string; bundle: string; sums: string } {
  return { launcher: `carebox-${version}.sh`, bundle: `carebox-bundle-${version}.tar.gz`, sums: `carebox-${version}.SHA256SUMS` };
}

const VERSION = /^[0-9]+\.[0-9]+\.[0-9]+(-[A-Za-z0-9.-]{1,60})?$/;

/**
 * Build a release: the server and CLI images (reused when their content hash is unchanged, then
 * tagged `carebox/server:<V>` and `carebox/cli:<V>`), the offline bundle, the launcher and SHA256SUMS.
 * @throws UsageError for a version that is not `X.Y.Z[-suffix]` or an output file that exists;
 *   OperationError when the package is not built or an image is missing and not pullable;
 *   ExternalCommandError when an image build fails.
 */
export async function buildRelease(docker: Docker, req: ReleaseRequest, reporter: StepReporter): Promise<ReleaseResult> {
  const t0 = Date.now();
  if (!VERSION.test(req.version)) throw new UsageError(`--version ${req.version}: expected X.Y.Z or X.Y.Z-suffix (letters, digits, dots, dashes)`);
  const outDir = resolve(req.outDir);
  await fs.mkdir(outDir, { recursive: true });
  const names = releaseFileNames(req.version);
  for (const f of Object.values(names)) {
    if (await fs.stat(join(outDir, f)).catch(() => null)) throw new UsageError(`${join(outDir, f)} exists`, 'remove it or choose another --out directory');
  }
  await step(reporter, 'base', 'Base images (kept if present, else pulled)', async (progress) => {
    await ensureBaseImages(docker, req.images, [...releaseBaseRoles(req.images).map(([n]) => n), 'node'], progress);
    return [...releaseBaseRoles(req.images).map(([, r]) => r), req.images.node].join(', ');
  });
  const server = await step(reporter, 'server', 'Server image', async (progress) => {
    const built = await ensureServerImage(docker, { packageRoot: req.packageRoot, version: CAREBOX_VERSION, nodeImage: req.images.node, onProgress: progress });
    await docker.getImage(built).tag({ repo: 'carebox/server', tag: req.version });
    return `carebox/server:${req.version}`;
  });
  const cli = await step(reporter, 'cli', 'CLI image (Node.js 20, Carebox, Docker CLI and Compose v2)', async (progress) => {
    const built = await ensureCliImage(docker, {
      packageRoot: req.packageRoot,
      version: req.version,
      base: { node: req.images.node, dockerCli: req.dockerCliImage },
      onProgress: progress,
    });
    await docker.getImage(built).tag({ repo: 'carebox/cli', tag: req.version });
    return `carebox/cli:${req.version}`;
  });
  const roles: [string, string][] = [...releaseBaseRoles(req.images), ['server', server], ['cli', cli]];
  const bundle = await writeBundle(docker, roles, { output: join(outDir, names.bundle), version: req.version }, reporter);
  const launcherFile = join(outDir, names.launcher);
  const launcher = await step(reporter, 'launcher', `Write ${launcherFile}`, async () => {
    const text = (await fs.readFile(join(req.packageRoot, 'cli', 'carebox.sh'), 'utf8')).replace(
      "release_image='@CAREBOX_CLI_IMAGE@'",
      `release_image='${cli}'`,
    );
    if (!text.includes(`release_image='${cli}'`)) throw new Error('cli/carebox.sh lost its release_image line');
    await fs.writeFile(launcherFile, text, { mode: 0o755 });
    return { file: launcherFile, bytes: Buffer.byteLength(text), sha256: await sha256File(launcherFile) };
  });
  const sums = join(outDir, names.sums);
  // sha256sum's format (two spaces, names relative to the directory): `sha256sum -c` checks it there.
  await fs.writeFile(sums, `${launcher.sha256}  ${names.launcher}\n${bundle.sha256}  ${names.bundle}\n`);
  return { version: req.version, launcher, bundle, sums, images: Object.fromEntries(roles), tookMs: Date.now() - t0 };
}
