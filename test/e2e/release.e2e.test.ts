/**
 * Issue 15 on the real engine: a hospital server that has only Docker. `npm run release` builds two
 * releases (launcher, offline bundle with the stack and CLI images, SHA256SUMS); then, as on the
 * server, the checksums are verified and the launcher installs from release 1 and upgrades to
 * release 2 where:
 *  - there is no network: each run is in a network namespace of its own (`unshare -n`, only a
 *    loopback that is down); the Docker socket is a Unix socket and still reaches the engine;
 *  - there is no node or npm: a mount namespace (`unshare -m`) puts an empty, non-executable file
 *    over /usr/bin/node and an empty tmpfs over /usr/lib/node_modules (npm), and PATH is the
 *    system's; the run checks both before it starts the launcher;
 *  - nothing is built or pulled: every image the stack and the CLI run was created before the
 *    install (a build would create one), and the engine reports no pull or import meanwhile.
 * The release's per-version tags (carebox/cli:<V>, carebox/server:<V>) are removed before each run,
 * so the launcher and the CLI must load them from the bundle.
 *
 * Cost: the CLI image is built once per package content (`carebox/cli-build:<hash>`), and each
 * version is one small layer on it (console/ops/cli.image.ts); the server and stand-in images are
 * reused by content hash. Measured figures go to the log.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { detectResources } from '../../installer/detect/resources.detect.js';
import { CAREBOX_VERSION } from '../../installer/version.js';
import { carebox, freePort, get, readText, REPO, requireE2ePrereqs, runCommand, STANDINS, type CliRun } from './e2e.helpers.js';

const DOCKER_CLI_STANDIN = 'carebox-standin/docker-cli:1';
/** Roles of the stand-ins a release bundles besides the server and CLI images (console/ops/release.ops.ts). */
const BUNDLED_ROLES = [
  'postgres',
  'redis',
  'nginx',
  'pgbouncer',
  'prometheus',
  'alertmanager',
  'nodeExporter',
  'postgresExporter',
  'redisExporter',
  'blackboxExporter',
  'restic',
] as const;

/** Run a command; stdout/stderr collected, bounded in time (15 min: a release build saves and compresses every image). */
const run = (argv: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> =>
  runCommand(argv, { timeoutMs: 900_000, ...opts });

/**
 * The sandbox: a new mount and network namespace; node and npm hidden; a clean environment with
 * the system PATH. It checks its own premises (prints them on stderr, exits 90 when one fails),
 * then runs `sh <launcher> args…` in `cwd`.
 */
const SANDBOX = `
set -eu
hidden="$1"; shift
mount --make-rprivate /
for f in /usr/bin/node /usr/local/bin/node /usr/bin/nodejs; do if [ -e "$f" ]; then mount --bind "$hidden" "$f"; fi; done
if [ -d /usr/lib/node_modules ]; then mount -t tmpfs -o ro,size=1m none /usr/lib/node_modules; fi
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 sh -c '
  if command -v npm >/dev/null 2>&1 || npm --version >/dev/null 2>&1; then echo "sandbox: npm still runs" >&2; exit 90; fi
  if node --version >/dev/null 2>&1 || nodejs --version >/dev/null 2>&1; then echo "sandbox: node still runs" >&2; exit 90; fi
  if [ -s /usr/bin/node ]; then echo "sandbox: /usr/bin/node still has content" >&2; exit 90; fi
  ifaces="$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" " ")"
  if [ "$ifaces" != "lo " ]; then echo "sandbox: network interfaces: $ifaces" >&2; exit 90; fi
  docker version --format "{{.Server.Version}}" >/dev/null || { echo "sandbox: the Docker socket is not reachable" >&2; exit 90; }
  echo "sandbox: no node, no npm, interfaces: $ifaces; the Docker socket answers" >&2
  exec sh "$@"
' sh "$@"
`;

describe('e2e: a release installs and upgrades with only Docker (no network, no Node.js, nothing built or pulled)', function () {
  this.timeout(1_800_000);
  let docker: Docker;
  let base = '';
  let root = '';
  let port = 0;
  // Fixed versions: an unchanged package reuses its CLI images (content-hash tags) from the last run.
  const versions = [`${CAREBOX_VERSION}-e2e.1`, `${CAREBOX_VERSION}-e2e.2`] as const;
  const releases: { dir: string; json: any; ms: number }[] = [];
  const figures: Record<string, number | string> = {};

  /** `sh <launcher> args` in the sandbox, from the release's directory (as an operator would). */
  const sandboxed = (release: number, args: string[]): Promise<CliRun> => {
    const rel = releases[release]!;
    return run(['unshare', '-m', '-n', 'sh', '-c', SANDBOX, 'sandbox', join(base, 'hidden'), rel.json.launcher.file, ...args], { cwd: rel.dir });
  };

  // The stand-in tags are shared with every other test and helper on this engine: the releases
  // bundle aliases of them made for this file (as bundle.e2e does), so loading a bundle never
  // retags a shared stand-in, and removing the aliases makes the bundles bring them back.
  const aliases: Record<string, string> = {};
  const standinOf: Record<string, string> = {};

  /** Remove the per-version tags of the releases and the aliases (they must come back from the bundles). */
  const untagVersions = async (which: readonly string[]) => {
    for (const v of which) {
      for (const ref of [`carebox/cli:${v}`, `carebox/server:${v}`])
        await docker
          .getImage(ref)
          .remove({ noprune: true })
          .catch(() => undefined);
    }
    for (const ref of Object.values(aliases))
      await docker
        .getImage(ref)
        .remove({ noprune: true })
        .catch(() => undefined);
  };

  /** Engine events for images in [sinceS, untilS]. */
  const imageEvents = async (sinceS: number, untilS: number): Promise<{ Action: string; id?: string; Actor?: { ID?: string } }[]> => {
    const stream = (await docker.getEvents({ since: sinceS, until: untilS, filters: { type: ['image'] } })) as NodeJS.ReadableStream;
    let text = '';
    for await (const c of stream as AsyncIterable<Buffer>) text += c.toString();
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  };

  /** Image ids the stack's containers and the CLI run, with their creation times. */
  const imagesInUse = async (project: string, cli: string) => {
    const containers = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
    const ids = new Set([...containers.map((c) => c.ImageID), (await docker.getImage(cli).inspect()).Id]);
    return Promise.all([...ids].map(async (i) => ({ id: i, created: Date.parse((await docker.getImage(i).inspect()).Created) })));
  };

  before(async () => {
    docker = await requireE2ePrereqs();
    if (!existsSync(join(REPO, 'dist/scripts/release.js'))) throw new Error('dist/scripts/release.js is missing: run `npm run build`');
    try {
      await docker.getImage(DOCKER_CLI_STANDIN).inspect();
    } catch {
      throw new Error(`${DOCKER_CLI_STANDIN} is missing: run \`bash test/images/build-cli-standin.sh\` (test/setup/prepare-host.sh does)`);
    }
    base = await mkdtemp(join(tmpdir(), 'carebox-release-e2e-'));
    await writeFile(join(base, 'hidden'), '', { mode: 0o644 });
    const standins = JSON.parse(readText(STANDINS)) as Record<string, string>;
    // node stays the shared tag: it is only the base of the server and CLI images (not in the bundle),
    // and their content hashes name it.
    // Every image a default install runs: the stack's, monitoring (where it fits beside the tier) and restic.
    for (const role of BUNDLED_ROLES) {
      await docker.getImage(standins[role]!).tag({ repo: `carebox-e2e-release/${role.toLowerCase()}`, tag: '1' });
      aliases[role] = `carebox-e2e-release/${role.toLowerCase()}:1`;
      standinOf[role] = standins[role]!;
    }
    const imagesFile = join(base, 'images.json');
    await writeFile(imagesFile, JSON.stringify({ ...standins, ...aliases }));
    // `npm run release` runs `node dist/scripts/release.js` after the build; the build is done.
    for (const v of versions) {
      const dir = join(base, `release-${v}`);
      const t0 = Date.now();
      const r = await run(
        [
          process.execPath,
          join(REPO, 'dist/scripts/release.js'),
          '--version',
          v,
          '--out',
          dir,
          '--images',
          imagesFile,
          '--docker-cli-image',
          DOCKER_CLI_STANDIN,
          '--json',
        ],
        { cwd: REPO },
      );
      expect(r.code, r.stderr).to.equal(0);
      releases.push({ dir, json: r.json, ms: Date.now() - t0 });
    }
    root = join(base, 'opt', 'carebox');
    port = await freePort();
  });

  after(async () => {
    if (root && existsSync(join(root, 'carebox.json'))) await carebox(['uninstall', '--dir', root, '--purge', '--yes']);
    // The release tags go; the content-hash tags stay, like the server images an install builds.
    if (docker) await untagVersions(versions);
    if (Object.keys(figures).length) console.log(`      release e2e figures: ${JSON.stringify(figures)}`);
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('npm run release writes the launcher, the offline bundle (every image a default install runs, monitoring and restic included, + the CLI image) and SHA256SUMS, named with the version', async () => {
    for (const [i, v] of versions.entries()) {
      const j = releases[i]!.json;
      expect(j.launcher.file).to.match(new RegExp(`/carebox-${v.replaceAll('.', '\\.')}\\.sh$`));
      expect(j.bundle.file).to.match(new RegExp(`/carebox-bundle-${v.replaceAll('.', '\\.')}\\.tar\\.gz$`));
      expect(j.sums).to.match(new RegExp(`/carebox-${v.replaceAll('.', '\\.')}\\.SHA256SUMS$`));
      expect(j.images).to.include({ cli: `carebox/cli:${v}`, server: `carebox/server:${v}` });
      // An air-gapped default install needs no other image: monitoring and restic travel too.
      expect(j.images).to.deep.equal({ ...aliases, server: `carebox/server:${v}`, cli: `carebox/cli:${v}` });
      expect(readText(j.launcher.file)).to.contain(`release_image='carebox/cli:${v}'`);
    }
    const j = releases[0]!.json;
    figures.bundleMiB = +(j.bundle.bytes / 1024 / 1024).toFixed(1);
    figures.launcherBytes = j.launcher.bytes;
    figures.release1S = +(releases[0]!.ms / 1000).toFixed(1);
    figures.release2S = +(releases[1]!.ms / 1000).toFixed(1);
  });

  it('on the server: sha256sum -c passes, and a copy with one byte changed fails it', async () => {
    const rel = releases[0]!;
    const ok = await run(['sha256sum', '-c', rel.json.sums.split('/').pop()], { cwd: rel.dir });
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/carebox-bundle-.*: OK/);
    const bad = join(base, 'tampered');
    await run(['mkdir', '-p', bad]);
    await run(['cp', rel.json.launcher.file, rel.json.sums, bad]);
    await run(['sh', '-c', `printf '#' >> "${join(bad, rel.json.launcher.file.split('/').pop())}"`]);
    const no = await run(['sha256sum', '-c', '--ignore-missing', rel.json.sums.split('/').pop()], { cwd: bad });
    expect(no.code).to.not.equal(0);
  });

  it('install --bundle from release 1, with no network, no node or npm, nothing built or pulled: the stack becomes healthy', async () => {
    await untagVersions(versions);
    const bundle = releases[0]!.json.bundle.file.split('/').pop();
    const t0 = Date.now();
    // --alerts off keeps CI time down (Prometheus and the exporters would start and be upgraded; alerts
    // have their own e2e file): their images are in the bundle all the same, and are checked below.
    const r = await sandboxed(0, [
      'install',
      '--bundle',
      bundle,
      '--yes',
      '--json',
      '--dir',
      root,
      '--tier',
      'default',
      '--http-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--alerts',
      'off',
    ]);
    const t1 = Date.now();
    expect(r.stderr).to.contain('sandbox: no node, no npm, interfaces: lo ');
    expect(r.code, r.stderr.slice(-4000)).to.equal(0);
    figures.installS = +((t1 - t0) / 1000).toFixed(1);
    // The launcher loaded the CLI image from the bundle; the CLI found every image already loaded.
    expect(r.stderr).to.match(/loading the images of carebox-bundle-/);
    expect(r.stderr).to.match(/already loaded \(same image ids\)|loaded from bundle/);
    expect(r.json.ok).to.equal(true);
    const m = JSON.parse(readText(join(root, 'carebox.json')));
    expect(m.images.server).to.equal(`carebox/server:${versions[0]}`);
    expect(m.cli).to.deep.equal({ version: versions[0], image: `carebox/cli:${versions[0]}` });
    expect(readText(join(root, 'cli-image')).trim()).to.equal(`carebox/cli:${versions[0]}`);
    expect(m.carebox.version).to.equal(versions[0]);
    // Every bundled image came back from the bundle (the aliases were removed before the run), so a
    // default install (monitoring where it fits) and restic (off-host copies, `restore --from-restic`)
    // find theirs with no registry; the stack records them.
    for (const role of BUNDLED_ROLES) {
      expect(m.images[role], role).to.equal(aliases[role]);
      expect((await docker.getImage(aliases[role]!).inspect()).Id, role).to.equal((await docker.getImage(standinOf[role]!).inspect()).Id);
    }
    // Host mode: the CLI in its container sized what this process (in the launcher's cgroup) sees,
    // from the host's /proc and /sys, not its own container's cgroup.
    const here = await detectResources();
    expect({ cpus: m.facts.cpus.value, memoryBytes: m.facts.memoryBytes.value }).to.deep.equal({ cpus: here.cpus.value, memoryBytes: here.memoryBytes.value });
    expect(m.facts.cpus.source).to.not.match(/process\.constrainedMemory|availableParallelism/);
    expect((await get(`http://127.0.0.1:${port}/ready`)).status).to.equal(200);
    // Nothing built (every image in use existed before the install) or pulled.
    for (const img of await imagesInUse(m.project, `carebox/cli:${versions[0]}`)) expect(img.created, img.id).to.be.below(t0);
    const pulls = (await imageEvents(Math.floor(t0 / 1000), Math.ceil(t1 / 1000))).filter((e) => ['pull', 'import', 'push'].includes(e.Action));
    expect(pulls, JSON.stringify(pulls)).to.deep.equal([]);
  });

  it('status and --version work the same way and show the CLI and the stack versions', async () => {
    const s = await sandboxed(0, ['status', '--json', '--no-usage', '--dir', root]);
    expect(s.code, s.stderr.slice(-2000)).to.equal(0);
    expect(s.json.healthy).to.equal(true);
    expect(s.json.versions.cli).to.deep.equal({ version: versions[0], image: `carebox/cli:${versions[0]}` });
    expect(s.json.versions.stack.version).to.equal(versions[0]);
    const v = await sandboxed(0, ['--version', '--dir', root]);
    expect(v.code, v.stderr).to.equal(0);
    expect(v.stdout).to.contain(`carebox CLI ${versions[0]} (image carebox/cli:${versions[0]})`);
    expect(v.stdout).to.contain(`stack ${versions[0]} at ${root}`);
  });

  it('upgrade --bundle to release 2 the same way replaces the stack images and the CLI', async () => {
    const bundle2 = releases[1]!.json.bundle.file;
    const t0 = Date.now();
    // The operator runs the launcher of the new release; the root's CLI (release 1) performs the upgrade.
    const r = await sandboxed(1, ['upgrade', '--bundle', bundle2, '--json', '--dir', root]);
    const t1 = Date.now();
    expect(r.stderr).to.contain('sandbox: no node, no npm');
    expect(r.code, r.stderr.slice(-4000)).to.equal(0);
    figures.upgradeS = +((t1 - t0) / 1000).toFixed(1);
    expect(r.json.to.server).to.equal(`carebox/server:${versions[1]}`);
    expect(readText(join(root, 'cli-image')).trim()).to.equal(`carebox/cli:${versions[1]}`);
    expect((await get(`http://127.0.0.1:${port}/ready`)).status).to.equal(200);
    const m = JSON.parse(readText(join(root, 'carebox.json')));
    for (const img of await imagesInUse(m.project, `carebox/cli:${versions[1]}`)) expect(img.created, img.id).to.be.below(t0);
    const pulls = (await imageEvents(Math.floor(t0 / 1000), Math.ceil(t1 / 1000))).filter((e) => ['pull', 'import', 'push'].includes(e.Action));
    expect(pulls, JSON.stringify(pulls)).to.deep.equal([]);
    // From now on the launcher (either release's) runs the new CLI for this root.
    const s = await sandboxed(0, ['status', '--json', '--no-usage', '--dir', root]);
    expect(s.code, s.stderr.slice(-2000)).to.equal(0);
    expect(s.json.versions.cli).to.deep.equal({ version: versions[1], image: `carebox/cli:${versions[1]}` });
    expect(s.json.versions.stack.version).to.equal(versions[1]);
    const v = await sandboxed(1, ['--version', '--dir', root]);
    expect(v.stdout).to.contain(`carebox CLI ${versions[1]}`);
    expect(v.stdout).to.contain(`stack ${versions[1]} at ${root}`);
  });
});
