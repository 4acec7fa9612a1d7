/**
 * Start-up helper shared by the process entries (main, worker, migrate, healthcheck).
 */
import { ConfigError, loadConfig, type Config } from './env.config.js';
import { resolveSecretFiles } from './secret.files.js';

/**
 * Loads the config (secrets given as `<NAME>_FILE` read first, secret.files.ts), or prints the
 * list of bad variables to stderr and exits 1 (no stack trace: the operator must fix `.env`, not
 * read our source).
 *
 * @param program name printed before the message, e.g. `carebox-server`.
 * @param env the environment (default `process.env`).
 * @returns the validated config; never returns on a config error.
 * @throws only errors that are not ConfigError (a bug).
 */
export function loadConfigOrExit(program: string, env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(resolveSecretFiles(env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${program}: ${err.message}\nFix these variables in the environment (.env) and start again.\n`);
      process.exit(1);
    }
    throw err;
  }
}
