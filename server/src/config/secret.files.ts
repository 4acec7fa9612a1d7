/**
 * Secrets given as files: the Docker/Compose secrets convention (`<NAME>_FILE`, as the official
 * postgres image's `POSTGRES_PASSWORD_FILE`). The stack mounts the database and Redis passwords
 * as Compose secrets under /run/secrets/, so they never appear in `docker inspect` (an environment
 * variable does) nor on a command line.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigProblem } from './env.config.js';

/** Variables that may be given as `<NAME>_FILE` instead: a path whose contents are the value. */
export const FILE_SECRET_VARIABLES = ['DATABASE_PASSWORD', 'REDIS_PASSWORD'] as const;

/**
 * A copy of `env` where each `<NAME>_FILE` of {@link FILE_SECRET_VARIABLES} is replaced by the
 * file's contents as `<NAME>` (one trailing newline dropped). A `<NAME>` set directly wins over its
 * file, so a one-off run (migrations as the owner role) can pass another password.
 *
 * @param env variables as strings (default `process.env`); not modified.
 * @param read reads a file as UTF-8 (default `readFileSync`); a parameter so that tests need no files.
 * @returns the new environment object.
 * @throws ConfigError naming `<NAME>_FILE` when the file cannot be read or is empty (its contents are never shown).
 */
export function resolveSecretFiles(
  env: Record<string, string | undefined> = process.env,
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  const problems: ConfigProblem[] = [];
  for (const name of FILE_SECRET_VARIABLES) {
    const path = env[`${name}_FILE`]?.trim();
    if (!path || (env[name] !== undefined && env[name]!.trim() !== '')) continue;
    let value: string;
    try {
      value = read(path).replace(/\r?\n$/, '');
    } catch (err) {
      problems.push({ variable: `${name}_FILE`, message: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
      continue;
    }
    if (value.trim() === '') problems.push({ variable: `${name}_FILE`, message: `${path} is empty` });
    else out[name] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
