import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { SERVER_SCRIPTS } from '../runtime/server.cli.js';
import { OperationError } from '../errors.js';

/** One package of the server's runtime closure, from package-lock.json. */
export interface LockedPackage {
  /** Path in the lockfile, e.g. `node_modules/express` or `node_modules/a/node_modules/b`. */
  path: string;
  version: string;
  integrity: string | null;
}

type LockPackages = Record<
  string,
  {
    version?: string;
    integrity?: string;
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    link?: boolean;
  }
>;

/**
 * The runtime dependency closure of `roots` (package names) in a lockfile v2/v3 `packages` map,
 * resolved the way Node resolves `require`: from a package at `a/node_modules/b`, a dependency `c`
 * is looked up at `a/node_modules/b/node_modules/c`, then `a/node_modules/c`, then `node_modules/c`.
 * Optional and peer dependencies are included when installed. Sorted by path; pure.
 * @throws OperationError when a required dependency is not in the lockfile (run `npm ci`).
 */
export function dependencyClosure(packages: LockPackages, roots: string[]): LockedPackage[] {
  const seen = new Map<string, LockedPackage>();
  const resolve = (from: string, name: string): string | null => {
    let base = from;
    for (;;) {
      const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      if (packages[candidate]) return candidate;
      if (base === '') return null;
      const idx = base.lastIndexOf('/node_modules/');
      base = idx === -1 ? '' : base.slice(0, idx);
    }
  };
  const visit = (from: string, name: string, optional: boolean) => {
    const path = resolve(from, name);
    if (!path) {
      if (optional) return;
      throw new OperationError(
        `server dependency ${name} (needed by ${from || 'the server'}) is not in package-lock.json`,
        'run `npm ci` in the Carebox directory, then retry',
      );
    }
    if (seen.has(path)) return;
    const p = packages[path]!;
    seen.set(path, { path, version: p.version ?? '0.0.0', integrity: p.integrity ?? null });
    for (const dep of Object.keys(p.dependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(p.optionalDependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(p.peerDependencies ?? {})) visit(path, dep, p.peerDependenciesMeta?.[dep]?.optional ?? false);
  };
  for (const r of roots) visit('', r, false);
  return [...seen.values()].sort((a, b) => a.path.localeCompare(b.path));
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** What goes into the server image, and the content hash that names its tag. */
export interface ServerBuildInputs {
  packageRoot: string;
  closure: LockedPackage[];
  /** The image's package.json: server/package.json with versions pinned from the lockfile. */
  packageJson: string;
  distFiles: string[];
  /** sha256 over the Dockerfile, base image, package.json, closure (path@version#integrity) and dist files, hex. */
  hash: string;
}

/**
 * Collect the server image's inputs from a built Carebox package (dist/server must exist).
 * @throws OperationError when dist/server is missing (`npm run build` first) or the lockfile is.
 */
export async function serverBuildInputs(packageRoot: string, nodeImage: string): Promise<ServerBuildInputs> {
  const read = (p: string) => fs.readFile(join(packageRoot, p), 'utf8');
  let lock: { packages: LockPackages };
  try {
    lock = JSON.parse(await read('package-lock.json'));
  } catch {
    throw new OperationError('package-lock.json is missing or unreadable', 'run `npm ci` in the Carebox directory');
  }
  const serverPkg = JSON.parse(await read('server/package.json')) as { dependencies: Record<string, string> };
  const roots = Object.keys(serverPkg.dependencies).sort();
  const closure = dependencyClosure(lock.packages, roots);
  const pinned = Object.fromEntries(roots.map((r) => [r, lock.packages[`node_modules/${r}`]?.version ?? '*']));
  const packageJson = `${JSON.stringify({ ...serverPkg, dependencies: pinned }, null, 2)}\n`;
  const distDir = join(packageRoot, 'dist', 'server');
  let distFiles: string[];
  try {
    distFiles = (await listFiles(distDir)).filter((f) => !f.endsWith('.map'));
  } catch {
    throw new OperationError('the server is not built (dist/server is missing)', 'run `npm run build` (install.sh does this), then retry');
  }
  if (!distFiles.some((f) => f.endsWith(SERVER_SCRIPTS.main.replace(/^dist\/server\//, '')))) {
    throw new OperationError(`${SERVER_SCRIPTS.main} is missing`, 'run `npm run build`, then retry');
  }
  const h = createHash('sha256');
  h.update(await read('server/Dockerfile'));
  h.update(`\0${nodeImage}\0${packageJson}\0`);
  for (const p of closure) h.update(`${p.path}@${p.version}#${p.integrity ?? ''}\n`);
  for (const f of distFiles) {
    h.update(`${relative(packageRoot, f)}\0`);
    h.update(await fs.readFile(f));
  }
  return { packageRoot, closure, packageJson, distFiles, hash: h.digest('hex') };
}

/**
 * Stage the Docker build context in `ctx`: Dockerfile, package.json, dist/server (no source maps)
 * and node_modules with only the closure (each package without its nested node_modules, which are
 * closure entries of their own).
 */
export async function stageServerContext(inputs: ServerBuildInputs, ctx: string): Promise<void> {
  const root = inputs.packageRoot;
  await fs.mkdir(ctx, { recursive: true });
  await fs.copyFile(join(root, 'server', 'Dockerfile'), join(ctx, 'Dockerfile'));
  await fs.writeFile(join(ctx, 'package.json'), inputs.packageJson);
  for (const f of inputs.distFiles) {
    const dest = join(ctx, relative(root, f));
    await fs.mkdir(join(dest, '..'), { recursive: true });
    await fs.copyFile(f, dest);
  }
  for (const p of inputs.closure) {
    const src = join(root, p.path);
    await fs.cp(src, join(ctx, p.path), {
      recursive: true,
      dereference: true,
      filter: (s) => relative(src, s) !== 'node_modules',
    });
  }
}
