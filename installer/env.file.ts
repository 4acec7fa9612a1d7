/**
 * The shape of the install root's `.env`: the secrets Carebox generates and the variables an admin
 * added. Types and names only, shared by the renderer (installer/render/env.render.ts writes it)
 * and apply (installer/apply/secrets.store.ts reads and fills it), so render imports nothing from apply.
 */

/**
 * Secrets Carebox generates. Each is 32 random bytes, base64url (43 chars, safe in .env and Compose).
 *  - POSTGRES_PASSWORD: the PostgreSQL superuser `carebox` (role setup, backups, `pg_reload_conf`);
 *  - POSTGRES_OWNER_PASSWORD: the owner role (migrations, restore; installer/apply/db.roles.ts);
 *  - POSTGRES_APP_PASSWORD: the application role the backends, workers and PgBouncer log in as;
 *  - REDIS_PASSWORD.
 */
export const SECRET_KEYS = ['POSTGRES_PASSWORD', 'POSTGRES_OWNER_PASSWORD', 'POSTGRES_APP_PASSWORD', 'REDIS_PASSWORD'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** The .env contents: Carebox's secrets plus any variable an admin added (kept, sorted by name). */
export interface EnvFile {
  secrets: Record<SecretKey, string>;
  /** Variables Carebox does not manage (SMTP settings an admin added, for example), sorted by name. */
  extra: [string, string][];
  /** Which secrets were generated in this run (empty on a re-run). */
  generated: SecretKey[];
}
