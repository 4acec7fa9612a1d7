/**
 * The `carebox` program: installer verbs (install, plan) from installer/commands, day-to-day verbs
 * (status, uninstall, …) from console/commands. It lives in console/ because the console depends
 * on the installer core, never the reverse.
 */
import { Command } from 'commander';
import { runAction } from '../installer/commands/action.js';
import { registerInstall } from '../installer/commands/install.command.js';
import { registerPlan } from '../installer/commands/plan.command.js';
import { CAREBOX_VERSION } from '../installer/version.js';
import { registerConsole } from './commands/console.command.js';
import { registerStatus } from './commands/status.command.js';
import { registerUninstall } from './commands/uninstall.command.js';
import { registerLogs } from './commands/logs.command.js';
import { registerRestart } from './commands/restart.command.js';
import { registerScale } from './commands/scale.command.js';
import { registerRetier } from './commands/retier.command.js';
import { registerBackup, registerRestore } from './commands/backup.command.js';
import { registerBundle } from './commands/bundle.command.js';
import { registerUpgrade } from './commands/upgrade.command.js';
import { registerSupportBundle } from './commands/support.command.js';
import { registerDemoData } from './commands/demo-data.command.js';

/** Build the program. Every command throws CommanderError instead of exiting (exitOverride). */
export function buildProgram(): Command {
  const program = new Command('carebox')
    .description('Carebox: self-hosted hospital records appliance — plan, install and run the stack')
    .version(CAREBOX_VERSION)
    .showHelpAfterError('(run `carebox --help` for usage)')
    .exitOverride();
  registerInstall(program, runAction);
  registerPlan(program, runAction);
  registerStatus(program, runAction);
  registerConsole(program, runAction);
  registerUninstall(program, runAction);
  registerLogs(program, runAction);
  registerRestart(program, runAction);
  registerScale(program, runAction);
  registerRetier(program, runAction);
  registerBackup(program, runAction);
  registerRestore(program, runAction);
  registerBundle(program, runAction);
  registerUpgrade(program, runAction);
  registerSupportBundle(program, runAction);
  registerDemoData(program, runAction);
  for (const c of program.commands) c.exitOverride();
  return program;
}
