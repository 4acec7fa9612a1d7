/**
 * The CLI image (cli/Dockerfile): the compiled Carebox package, its production dependencies, Node.js
 * 20 and the Docker CLI with Compose v2, so a hospital server needs only Docker. Built from this
 * package the way the server image is (installer/apply/server.image.ts): a staged context, nothing
 * downloaded, and a tag named by a content hash so an unchanged package reuses its image.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type Docker from 'dockerode';
import { exec } from './exec.js';
import { imageExists } from './images.ensure.js';
import { dependencyClosure, type LockedPackage } from './server.image.js';
import { OperationError } from '../errors.js';
import { DEFAULT_IMAGES, type BaseImages } from '../render/images.map.js';

/** Package files the CLI needs at run time besides dist/ (templates, the server image's inputs, the launcher). */
const APP_FILES = ['package-lock.json', 'server/Dockerfile', 'server/package.json', 'cli/carebox.sh', 'cli/Dockerfile'];
const APP_DIRS = ['compose-templates', 'nginx'];

/** Base images of the CLI image. */
export interface CliBaseImages {
  /** Node.js 20 (default in cli/Dockerfile: the official node image). */
  node: string;
  /** Docker CLI at /usr/local/bin/docker and Compose v2 at /usr/local/libexec/docker/cli-plugins/docker-compose. */
  dockerCli: string;
}

/**
 * The base images of a locally built CLI image: the stack's Node.js image, and the Docker CLI image
 * from CAREBOX_DOCKER_CLI_IMAGE, else the images map's `dockerCli`, else the pinned default. Pure.
 */
export function cliBaseImages(images: Pick<BaseImages, 'node' | 'dockerCli'>, env: NodeJS.ProcessEnv = process.env): CliBaseImages {
  return { node: images.node, dockerCli: env.CAREBOX_DOCKER_CLI_IMAGE ?? images.dockerCli ?? DEFAULT_IMAGES.dockerCli };
}

/** What goes into the CLI image, and the hash that names its tag. */
export interface CliBuildInputs {
  packageRoot: string;
  version: string;
  /** The image's package.json: the package's, with `version` set to the release's. */
  packageJson: string;
  closure: LockedPackage[];
  /** Absolute paths of every app file (dist without source maps, templates, APP_FILES). */
  appFiles: string[];
  base: CliBaseImages;
  /** sha256 over the Dockerfile, base images, package.json, closure and every app file, hex. */
  hash: string;
}

async function walk(dir: string, out: string[] = []): Promise<string[]> {
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && !p.endsWith('.map')) out.push(p);
  }
  return out;
}

/**
 * Collect the CLI image's inputs from a built package.
 * @param version the release's version (written into the image's package.json: the CLI reports it).
 * @throws OperationError when dist/ or the lockfile is missing, or a dependency is not in the lockfile.
 */
export async function cliBuildInputs(packageRoot: string, version: string, base: CliBaseImages): Promise<CliBuildInputs> {
  const read = (p: string) => fs.readFile(join(packageRoot, p), 'utf8');
  let lock: { packages: Parameters<typeof dependencyClosure>[0] };
  let pkg: { dependencies: Record<string, string> } & Record<string, unknown>;
  try {
    lock = JSON.parse(await read('package-lock.json'));
    pkg = JSON.parse(await read('package.json'));
  } catch {
    throw new OperationError('package.json or package-lock.json is missing or unreadable', 'run `npm ci` in the Carebox directory');
  }
  const closure = dependencyClosure(lock.packages, Object.keys(pkg.dependencies).sort());
  const packageJson = `${JSON.stringify({ ...pkg, version }, null, 2)}\n`;
  let dist: string[];
  try {
    dist = await walk(join(packageRoot, 'dist'));
  } catch {
    throw new OperationError('Carebox is not built (dist/ is missing)', 'run `npm run build`, then retry');
  }
  if (!dist.some((f) => f.endsWith(join('console', 'cli.js')))) throw new OperationError('dist/console/cli.js is missing', 'run `npm run build`, then retry');
  const appFiles = [...dist, ...APP_FILES.map((f) => join(packageRoot, f))];
  for (const d of APP_DIRS) appFiles.push(...(await walk(join(packageRoot, d))));
  appFiles.sort();
  const h = createHash('sha256');
  h.update(await read('cli/Dockerfile'));
  h.update(`\0${base.node}\0${base.dockerCli}\0${packageJson}\0`);
  for (const p of closure) h.update(`${p.path}@${p.version}#${p.integrity ?? ''}\n`);
  for (const f of appFiles) {
    h.update(`${relative(packageRoot, f)}\0`);
    h.update(await fs.readFile(f));
  }
  return { packageRoot, version, packageJson, closure, appFiles, base, hash: h.digest('hex') };
}

/** Stage the build context: Dockerfile, deps/node_modules (the closure) and app/ (see cli/Dockerfile). */
export async function stageCliContext(inputs: CliBuildInputs, ctx: string): Promise<void> {
  const root = inputs.packageRoot;
  await fs.mkdir(join(ctx, 'app'), { recursive: true });
  await fs.copyFile(join(root, 'cli', 'Dockerfile'), join(ctx, 'Dockerfile'));
  await fs.writeFile(join(ctx, 'app', 'package.json'), inputs.packageJson);
  for (const f of inputs.appFiles) {
    const dest = join(ctx, 'app', relative(root, f));
    await fs.mkdir(join(dest, '..'), { recursive: true });
    await fs.copyFile(f, dest);
  }
  for (const p of inputs.closure) {
    const src = join(root, p.path);
    await fs.cp(src, join(ctx, 'deps', p.path), { recursive: true, dereference: true, filter: (s) => relative(src, s) !== 'node_modules' });
  }
}

/**
 * The CLI image of this package at `version`, in two steps so a release of the same code under
 * another version (an rc, then the final) costs one small layer:
 *  1. `carebox/cli-build:<hash12>`: cli/Dockerfile on the staged context (the package's own
 *     package.json), built when no image has that tag;
 *  2. `carebox/cli:<version>-<hash12>`: that image with package.json's version set to `version`
 *     (the CLI reports it), built when missing.
 * @returns the tag of step 2.
 * @throws OperationError when the package is not built; ExternalCommandError when `docker build`
 *   fails (a base image missing locally: nothing is pulled).
 */
export async function ensureCliImage(
  docker: Docker,
  opts: { packageRoot: string; version: string; base: CliBaseImages; onProgress: (msg: string) => void },
): Promise<string> {
  const pkgVersion = (JSON.parse(await fs.readFile(join(opts.packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const inputs = await cliBuildInputs(opts.packageRoot, pkgVersion, opts.base);
  const buildTag = `carebox/cli-build:${inputs.hash.slice(0, 12)}`;
  const versioned = `${inputs.hash}\0${opts.version}`;
  const tag = `carebox/cli:${opts.version}-${createHash('sha256').update(versioned).digest('hex').slice(0, 12)}`;
  if (await imageExists(docker, tag)) return tag;
  const build = async (ctx: string, args: string[], t: string, hint: string) =>
    exec(['docker', 'build', '--pull=false', ...args, '-t', t, ctx], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      timeoutMs: 20 * 60_000,
      onOutput: (s) =>
        s
          .split('\n')
          .filter((l) => /^Step \d+/.test(l))
          .forEach((l) => opts.onProgress(l.trim())),
      hint,
    });
  const ctx = await mkdtemp(join(tmpdir(), 'carebox-cli-'));
  try {
    if (!(await imageExists(docker, buildTag))) {
      opts.onProgress(`building ${buildTag} on ${opts.base.node}`);
      await stageCliContext(inputs, join(ctx, 'full'));
      await build(
        join(ctx, 'full'),
        [
          '--build-arg',
          `NODE_IMAGE=${opts.base.node}`,
          '--build-arg',
          `DOCKER_CLI_IMAGE=${opts.base.dockerCli}`,
          '--label',
          `com.carebox.build-hash=${inputs.hash}`,
        ],
        buildTag,
        `the CLI image build failed; check that ${opts.base.node} and ${opts.base.dockerCli} exist locally (docker image ls)`,
      );
    }
    opts.onProgress(`building ${tag} (version ${opts.version}) on ${buildTag}`);
    const small = join(ctx, 'version');
    await fs.mkdir(small, { recursive: true });
    const pkg = JSON.parse(await fs.readFile(join(opts.packageRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
    await fs.writeFile(join(small, 'package.json'), `${JSON.stringify({ ...pkg, version: opts.version }, null, 2)}\n`);
    await fs.writeFile(join(small, 'Dockerfile'), `FROM ${buildTag}\nCOPY package.json /usr/local/lib/carebox/package.json\n`);
    await build(
      small,
      ['--label', `com.carebox.build-hash=${inputs.hash}`, '--label', `com.carebox.version=${opts.version}`],
      tag,
      `the CLI image build failed on ${buildTag}`,
    );
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
  return tag;
}
