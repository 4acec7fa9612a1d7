import type { Command } from 'commander';
import { Option } from 'commander';
import { formatBytes } from '../../installer/detect/size.js';
import { connectDocker } from '../../installer/runtime/docker.connect.js';
import { requireManifest } from '../../installer/manifest/manifest.js';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, withCommon } from '../../installer/commands/common.options.js';
import { ExitCode } from '../../installer/errors.js';
import { stackStatus, type StackStatus } from '../ops/status.ops.js';
import { formatMeasured } from '../../installer/plan/plan.format.js';
import { formatMaintenance } from '../ops/maintenance.ops.js';
import { formatHeadroom } from '../ops/headroom.js';
import { formatVersions, runningCli } from '../../installer/manifest/cli.record.js';

/** Text table of a stack status. */
export function formatStatus(s: StackStatus): string {
  const lines = [`Carebox ${s.project} (tier ${s.tier}) ${s.healthy ? 'healthy' : 'NOT healthy'} — ${s.url}`];
  for (const svc of s.services) {
    lines.push(`  ${svc.service.padEnd(10)} ${String(svc.ready).padStart(2)}/${svc.expected} ready  ${svc.state}`);
    for (const c of svc.containers) {
      const u = c.usage ? `  cpu ${c.usage.cpuPercent.toFixed(1)}%  mem ${formatBytes(c.usage.memoryBytes)}/${formatBytes(c.usage.memoryLimitBytes)}` : '';
      lines.push(`    #${c.number} ${c.state}${c.health !== 'none' ? ` (${c.health})` : ''}${u}`);
    }
  }
  if (s.maintenance) lines.push(formatMaintenance(s.maintenance));
  const cap = s.capacity;
  if (cap) {
    lines.push(`Capacity: about ${cap.estimate[0]}–${cap.estimate[1]} ${cap.unit} (estimate: ${cap.basis})`);
    lines.push(cap.measured ? formatMeasured(cap.measured, cap.unit) : 'Measured: not yet (run `carebox loadtest`)');
  }
  if (s.load) {
    lines.push(formatHeadroom(s.load));
    if (s.load.overcommitted.length) lines.push(`Overcommitted: ${s.load.overcommitted.join('; ')}`);
  }
  return lines.join('\n');
}

/** `carebox status`: services, replicas, health and resource use. Exit 0 when healthy, 4 when not. */
export function registerStatus(program: Command, run: ActionRunner): void {
  withCommon(program.command('status').description('show services, replicas, health and resource use'))
    .addOption(new Option('--no-usage', 'skip CPU/memory sampling (faster)'))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const m = await requireManifest(dir);
        const { docker } = await connectDocker();
        const s = await stackStatus(docker, m, { usage: raw.usage !== false, root: dir, load: 'full' });
        // Which CLI answers and which release the stack runs (they differ until an upgrade finishes).
        const versions = { cli: runningCli(), stack: { version: m.carebox.version, cli: m.cli ?? null } };
        out.result({ ok: s.healthy, ...s, versions });
        out.print(
          `${formatStatus(s)}\n${formatVersions({ cli: versions.cli, stack: { root: dir, version: m.carebox.version, server: m.images.server, cli: m.cli ?? null } })}`,
        );
        return s.healthy ? ExitCode.Ok : ExitCode.Unhealthy;
      }),
    );
}
