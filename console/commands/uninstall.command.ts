import type { Command } from 'commander';
import { Option } from 'commander';
import { connectDocker } from '../../installer/runtime/docker.connect.js';
import { detectCompose } from '../../installer/detect/compose.detect.js';
import { projectNameFor } from '../../installer/apply/project.name.js';
import { readManifest } from '../../installer/manifest/manifest.js';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, withCommon } from '../../installer/commands/common.options.js';
import { OperationError, UsageError } from '../../installer/errors.js';
import { looksLikeCareboxRoot, projectResources, uninstallStack } from '../ops/uninstall.ops.js';
import { loadInteractiveUi } from '../../installer/ui/load.ui.js';

/**
 * `carebox uninstall [--purge]`: stop and remove the stack; keep data volumes and the install root
 * unless --purge. Both ask first on a TTY (or take --yes); without a TTY they need --yes (exit 2),
 * because stopping the stack takes a hospital's records offline.
 * A directory that holds no Carebox install (no carebox.json, no containers, networks or volumes of
 * its Compose project) is refused with exit 1 before anything is touched: a mistyped --dir must
 * never be deleted. Without carebox.json (an install that failed before recording itself) the
 * project's Docker resources are still removed, but the directory is deleted only when it holds
 * Carebox's rendered compose.yml and .env.
 */
export function registerUninstall(program: Command, run: ActionRunner): void {
  withCommon(program.command('uninstall').description('stop and remove the stack; --purge also deletes data volumes and the install root'))
    .addOption(new Option('--purge', 'also delete the database and Redis volumes and the install root (irreversible)').default(false))
    .addOption(new Option('--yes', 'do not ask for confirmation (required without a TTY)').default(false))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const m = await readManifest(dir);
        const project = m?.project ?? projectNameFor(dir);
        const purge = Boolean(raw.purge);
        const { docker } = await connectDocker();
        const found = await projectResources(docker, project);
        const rendered = looksLikeCareboxRoot(dir);
        if (!m && !rendered && found.containers + found.networks + found.volumes === 0) {
          throw new OperationError(
            `no Carebox install at ${dir}: no carebox.json, no rendered compose.yml/.env, and no containers, networks or volumes of project ${project}`,
            'nothing was removed; pass --dir DIR (or CAREBOX_DIR) for the install root you mean',
          );
        }
        if (!raw.yes) {
          const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !out.json;
          if (!tty) {
            throw new UsageError(
              purge
                ? '--purge deletes all patient data and needs confirmation, but there is no TTY to ask'
                : 'uninstall stops the stack (the records API goes offline) and needs confirmation, but there is no TTY to ask',
              purge
                ? 'rerun with --purge --yes if you really mean it (take `carebox backup` first)'
                : 'rerun with --yes; data volumes and the install root are kept',
            );
          }
          const { confirmPrompt } = await loadInteractiveUi(() => import('../../installer/ui/confirm.prompt.js'));
          const ok = await confirmPrompt(
            purge
              ? `Delete ALL Carebox data of ${project} (database, Redis, ${dir})? This cannot be undone.`
              : `Stop and remove the stack ${project}? The records API goes offline; data volumes and ${dir} are kept.`,
          );
          if (!ok) {
            out.print('Nothing was removed.');
            out.result({ ok: false, cancelled: true });
            return 1;
          }
        }
        const compose = await detectCompose();
        const removeRoot = purge && (m !== null || rendered);
        const r = await uninstallStack(docker, compose, project, dir, { purge, removeRoot, onProgress: (l) => out.log(l) });
        out.result({ ok: true, project, purged: purge, ...r });
        out.print(
          purge
            ? `Removed ${project}: ${r.containers} containers, ${r.networks} networks, ${r.volumes} volumes${r.rootRemoved ? ` and ${dir}` : `; ${dir} was kept (it holds no carebox.json or rendered files)`}.`
            : `Stopped and removed ${project} (${r.containers} containers). Data volumes and ${dir} are kept; \`carebox install --dir ${dir}\` brings it back.`,
        );
        return 0;
      }),
    );
}
