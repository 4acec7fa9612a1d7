import { render } from 'ink';
import { firstAdminLines, newInstallContext, runInstallSteps, type InstallPreparation } from '../apply/install.apply.js';
import { InstallApp } from './install.app.js';
import { StepStore } from './step.store.js';
import { capacityLine } from '../plan/plan.format.js';

/**
 * Mount the interactive install UI (TTY only) and resolve with the exit code when it finishes.
 * The install itself is the same step list the non-interactive path runs.
 */
export async function runInstallUi(prep: InstallPreparation, opts: { autoConfirm: boolean }): Promise<number> {
  const store = new StepStore();
  let code = 1;
  const app = render(
    <InstallApp
      prep={prep}
      autoConfirm={opts.autoConfirm}
      store={store}
      execute={async (s) => {
        const ctx = newInstallContext(prep);
        await runInstallSteps(ctx, s);
        return {
          url: ctx.prep.options.renderOnly ? null : ctx.url,
          summary: `${ctx.prep.options.renderOnly ? `Rendered tier ${ctx.plan.tier} into ${ctx.prep.root} (nothing started).` : `Carebox is up (tier ${ctx.plan.tier}).`} ${capacityLine(ctx.plan)}`,
          details: firstAdminLines(ctx.admin),
        };
      }}
      onExit={(c) => {
        code = c;
      }}
    />,
  );
  await app.waitUntilExit();
  return code;
}
