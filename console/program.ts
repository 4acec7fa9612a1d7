/**
 * The `carebox` program: installer verbs (install, plan) from installer/commands, day-to-day verbs
 * (status, uninstall, …) from console/commands. It lives in console/ because the console depends
 * on the installer core, never the reverse.
 *
 * Verbs are loaded on demand: `carebox plan` loads the planner only, not Docker's client, Ink,
 * React or autocannon, which the other verbs pull in (loading all of them took most of `plan`'s
 * wall time). Help, version and unknown verbs load every verb.
 */
import { Command } from 'commander';
import { runAction, type ActionRunner } from '../installer/commands/action.js';
import { CAREBOX_VERSION } from '../installer/version.js';
import { formatVersions, versionReport } from '../installer/manifest/cli.record.js';
import { defaultInstallRoot } from '../installer/paths.js';

type Register = (program: Command, run: ActionRunner) => void;

/** Every verb (in help order) and how to load its registration. */
const VERBS: ReadonlyArray<{ names: readonly string[]; load: () => Promise<Register[]> }> = [
  { names: ['install'], load: async () => [(await import('../installer/commands/install.command.js')).registerInstall] },
  { names: ['plan'], load: async () => [(await import('../installer/commands/plan.command.js')).registerPlan] },
  { names: ['status'], load: async () => [(await import('./commands/status.command.js')).registerStatus] },
  { names: ['console'], load: async () => [(await import('./commands/console.command.js')).registerConsole] },
  { names: ['uninstall'], load: async () => [(await import('./commands/uninstall.command.js')).registerUninstall] },
  { names: ['logs'], load: async () => [(await import('./commands/logs.command.js')).registerLogs] },
  { names: ['restart'], load: async () => [(await import('./commands/restart.command.js')).registerRestart] },
  { names: ['scale'], load: async () => [(await import('./commands/scale.command.js')).registerScale] },
  { names: ['retier'], load: async () => [(await import('./commands/retier.command.js')).registerRetier] },
  {
    names: ['backup', 'restore'],
    load: async () => {
      const m = await import('./commands/backup.command.js');
      return [m.registerBackup, m.registerRestore];
    },
  },
  { names: ['bundle'], load: async () => [(await import('./commands/bundle.command.js')).registerBundle] },
  { names: ['maintenance'], load: async () => [(await import('./commands/maintenance.command.js')).registerMaintenance] },
  { names: ['upgrade'], load: async () => [(await import('./commands/upgrade.command.js')).registerUpgrade] },
  { names: ['support-bundle'], load: async () => [(await import('./commands/support.command.js')).registerSupportBundle] },
  { names: ['loadtest'], load: async () => [(await import('./commands/loadtest.command.js')).registerLoadtest] },
  { names: ['demo-data'], load: async () => [(await import('./commands/demo-data.command.js')).registerDemoData] },
  { names: ['scheduler'], load: async () => [(await import('./commands/schedule.command.js')).registerScheduler] },
  { names: ['history'], load: async () => [(await import('./commands/history.command.js')).registerHistory] },
  { names: ['alerts'], load: async () => [(await import('./commands/alerts.command.js')).registerAlerts] },
];

/**
 * Build the program. Every command throws CommanderError instead of exiting (exitOverride).
 * @param argv `process.argv`; when its first word after the script names a verb, only that verb
 *   is loaded (the rest of the CLI behaves the same). Without it, every verb is.
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const args = argv.slice(2);
  // `--version` names both the CLI (and its image) and the stack the install root runs (carebox.json);
  // the root is --dir when given, else CAREBOX_DIR or /opt/carebox. Read only when asked.
  const asksVersion = args.includes('--version') || args.includes('-V');
  const dirAt = args.indexOf('--dir');
  const dir = args.find((a) => a.startsWith('--dir='))?.slice('--dir='.length) ?? (dirAt >= 0 ? args[dirAt + 1] : undefined) ?? defaultInstallRoot();
  const program = new Command('carebox')
    .description('Carebox: self-hosted hospital records appliance — plan, install and run the stack')
    .version(asksVersion ? formatVersions(versionReport(dir)) : CAREBOX_VERSION, '-V, --version', 'print the CLI version and the version the install root runs')
    .showHelpAfterError('(run `carebox --help` for usage)')
    .exitOverride();
  const word = argv.slice(2).find((a) => !a.startsWith('-'));
  const only = VERBS.find((v) => word !== undefined && v.names.includes(word) && !argv.slice(2).some((a) => a === '-h' || a === '--help'));
  const registrations = await Promise.all((only ? [only] : VERBS).map((v) => v.load()));
  for (const register of registrations.flat()) register(program, runAction);
  for (const c of program.commands) c.exitOverride();
  return program;
}
