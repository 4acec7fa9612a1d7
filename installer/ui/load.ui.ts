/**
 * Ink decides once, when it is first imported, whether it runs "in CI" (package is-in-ci: the
 * CI or CONTINUOUS_INTEGRATION variable is set and not "0"/"false"). In that mode it draws
 * nothing until the app exits, so a confirmation prompt or the live install view would sit on
 * a blank terminal. Carebox mounts Ink only after it has checked for a TTY, so a TTY wins over
 * an inherited CI variable (an upgrade wrapper or a runner shell exporting CI=1).
 */

const CI_VARS = ['CI', 'CONTINUOUS_INTEGRATION'] as const;

/**
 * Import an Ink-based UI module with the CI variables masked while Ink evaluates, then put
 * the environment back exactly as it was (children such as `docker compose` see the original).
 * Call it only once a TTY has been confirmed on stdin and stdout.
 * @param load the dynamic import, e.g. `() => import('./install.ui.js')`
 * @returns the loaded module
 * @throws whatever the import throws
 */
export async function loadInteractiveUi<T>(load: () => Promise<T>): Promise<T> {
  const saved = CI_VARS.map((k) => [k, process.env[k]] as const);
  for (const [k, v] of saved) if (v !== undefined) process.env[k] = 'false';
  try {
    return await load();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
