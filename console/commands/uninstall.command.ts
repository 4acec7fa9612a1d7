import type { Command } from 'commander';
import { Option } from 'commander';
import { connectDocker } from '../../installer/apply/docker.connect.js';
import { detectCompose } from '../../installer/detect/compose.detect.js';
import { projectNameFor } from '../../installer/apply/project.name.js';
import { readManifest } from '../../installer/manifest/manifest.js';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, withCommon } from '../../installer/commands/common.options.js';
import { UsageError } from '../../installer/errors.js';
import { uninstallStack } from '../ops/uninstall.ops.js';
import { loadInteractiveUi } from '../../installer/ui/load.ui.js';

/**
 * `carebox uninstall [--purge]`: stop and remove the stack; keep data volumes and the install root
 * unless --purge, which asks first (or takes --yes; without a TTY --purge needs --yes, exit 2).
 */
export function registerUninstall(program: Command, run: ActionRunner): void {
  withCommon(program.command('uninstall').description('stop and remove the stack; --purge also deletes data volumes and the install root'))
    .addOption(new Option('--purge', 'also delete the database and Redis volumes and the install root (irreversible)').default(false))
    .addOption(new Option('--yes', 'do not ask for confirmation').default(false))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const m = await readManifest(dir);
        const project = m?.project ?? projectNameFor(dir);
        const purge = Boolean(raw.purge);
        if (purge && !raw.yes) {
          const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !out.json;
          if (!tty) throw new UsageError('--purge deletes all patient data and needs confirmation, but there is no TTY to ask', 'rerun with --purge --yes if you really mean it (take `carebox backup` first)');
          const { confirmPrompt } = await loadInteractiveUi(() => import('../../installer/ui/confirm.prompt.js'));
          const ok = await confirmPrompt(`Delete ALL Carebox data of ${project} (database, Redis, ${dir})? This cannot be undone.`);
          if (!ok) {
            out.print('Nothing was removed.');
            out.result({ ok: false, cancelled: true });
            return 1;
          }
        }
        const { docker } = await connectDocker();
        const compose = await detectCompose();
        const r = await uninstallStack(docker, compose, project, dir, { purge, onProgress: (l) => out.log(l) });
        out.result({ ok: true, project, purged: purge, ...r });
        out.print(
          purge
            ? `Removed ${project}: ${r.containers} containers, ${r.networks} networks, ${r.volumes} volumes and ${dir}.`
            : `Stopped and removed ${project} (${r.containers} containers). Data volumes and ${dir} are kept; \`carebox install --dir ${dir}\` brings it back.`,
        );
        return 0;
      }),
    );
}
