import { randomBytes } from 'node:crypto';
import { parseEnv } from 'node:util';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { INSTALL_FILES } from '../paths.js';
import { SECRET_KEYS, type EnvFile, type SecretKey } from '../env.file.js';
import { readIfExists } from './fs.atomic.js';

// The .env's shape lives with neither render nor apply (installer/env.file.ts); re-exported for apply's callers.
export { SECRET_KEYS, type EnvFile, type SecretKey } from '../env.file.js';

/**
 * Secrets that may be generated for a stack that already has data: the passwords of the roles
 * that `applyDbRoles` (re)creates. It sets each role's password from .env on every install re-run
 * and upgrade, so an install from before these roles existed gets them without losing data. The
 * superuser's and Redis's passwords are never regenerated for an existing stack.
 */
export const ROLE_SECRET_KEYS: ReadonlySet<SecretKey> = new Set(['POSTGRES_OWNER_PASSWORD', 'POSTGRES_APP_PASSWORD']);

/** A new secret from the OS CSPRNG: 32 bytes as base64url. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Parse an existing .env text (Node's util.parseEnv, the dotenv grammar) and fill in only the
 * secrets it lacks. Secrets are generated once and kept forever: a re-run returns them unchanged.
 * @throws UsageError when a Carebox secret is present but empty or malformed (an edited .env):
 *   regenerating it would lock the stack out of its own data.
 */
export function mergeSecrets(existing: string | null, generate: () => string = newSecret): EnvFile {
  const parsed: Record<string, string> = existing ? (parseEnv(existing) as Record<string, string>) : {};
  const secrets = {} as Record<SecretKey, string>;
  const generated: SecretKey[] = [];
  for (const key of SECRET_KEYS) {
    const v = parsed[key];
    if (v === undefined) {
      secrets[key] = generate();
      generated.push(key);
    } else if (!/^[A-Za-z0-9_\-.~+/=]{16,256}$/.test(v)) {
      throw new UsageError(
        `.env has ${key} but its value is empty or contains characters Carebox cannot pass safely (quotes, $, spaces)`,
        `restore .env from backups/ or set ${key} back to the value the database was created with`,
      );
    } else {
      secrets[key] = v;
    }
  }
  const managed = new Set<string>([...SECRET_KEYS, 'COMPOSE_PROJECT_NAME']);
  const extra = Object.entries(parsed)
    .filter(([k]) => !managed.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { secrets, extra, generated };
}

/** Load the secrets of an install root (generating missing ones in memory; nothing is written). */
export async function loadSecrets(root: string): Promise<EnvFile> {
  return mergeSecrets(await readIfExists(join(root, INSTALL_FILES.env)));
}
