/**
 * `npm run release [-- --version V] [--out DIR] [--images FILE] [--docker-cli-image REF] [--json]`:
 * builds the release a hospital copies to an air-gapped server (console/ops/release.ops.ts):
 * carebox-<V>.sh, carebox-bundle-<V>.tar.gz and carebox-<V>.SHA256SUMS in DIR (default ./release).
 * Runs on a connected build machine with Node.js, Docker and the built package (`npm run build`
 * runs first). `--images` takes the same JSON map as `carebox install --images` (the stand-ins on
 * air-gapped CI). Exit 0 ok; 1 a build or export failed; 2 bad flags or an existing output file.
 */
import { Command, Option } from 'commander';
import { connectDocker } from '../installer/runtime/docker.connect.js';
import { loadImagesMap } from '../installer/apply/images.ensure.js';
import { runAction } from '../installer/commands/action.js';
import { plainReporter } from '../installer/commands/plain.reporter.js';
import { packageRoot } from '../installer/paths.js';
import { CAREBOX_VERSION } from '../installer/version.js';
import { buildRelease } from '../console/ops/release.ops.js';

/** Default Docker CLI image (cli/Dockerfile's DOCKER_CLI_IMAGE). */
const DOCKER_CLI_IMAGE = 'docker:27.3.1-cli';

const program = new Command('release')
  .description('build the release files: launcher, offline bundle (every image a default install runs + the CLI image), SHA256SUMS')
  .addOption(new Option('--version <V>', 'release version (an image tag: X.Y.Z or X.Y.Z-suffix)').default(CAREBOX_VERSION))
  .addOption(new Option('--out <DIR>', 'output directory').default('release'))
  .addOption(
    new Option(
      '--images <FILE>',
      'JSON map of base images (postgres, redis, nginx, pgbouncer, node, the monitoring ones, restic), as for `carebox install --images`; roles it does not name take the pinned defaults',
    ),
  )
  .addOption(new Option('--docker-cli-image <REF>', 'image with the Docker CLI and the Compose v2 plugin').default(DOCKER_CLI_IMAGE))
  .addOption(new Option('--json', 'one JSON document on stdout').default(false))
  .exitOverride()
  .action(
    runAction(async (out, raw) => {
      const images = await loadImagesMap((raw.images as string | undefined) ?? null);
      const { docker } = await connectDocker();
      const r = await buildRelease(
        docker,
        { packageRoot: packageRoot(), version: raw.version as string, outDir: raw.out as string, images, dockerCliImage: raw.dockerCliImage as string },
        plainReporter(out),
      );
      out.result({
        ok: true,
        version: r.version,
        launcher: r.launcher,
        bundle: { file: r.bundle.file, bytes: r.bundle.bytes, sha256: r.bundle.sha256 },
        sums: r.sums,
        images: r.images,
        tookMs: r.tookMs,
      });
      out.print(
        `Release ${r.version}: ${r.launcher.file}, ${r.bundle.file} (${(r.bundle.bytes / 1024 / 1024).toFixed(0)} MiB), ${r.sums}.\nOn the server: sha256sum -c ${r.sums.split('/').pop()} && sh ${r.launcher.file.split('/').pop()} install --bundle ${r.bundle.file.split('/').pop()} --yes`,
      );
      return 0;
    }),
  );

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has printed its message; --help exits 0, every parse error is a usage error.
  process.exitCode = (err as { exitCode?: number }).exitCode === 0 ? 0 : 2;
}
