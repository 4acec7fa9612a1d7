/**
 * PostgreSQL roles of a Carebox stack (least privilege):
 *
 *   carebox        the superuser the postgres image creates (POSTGRES_USER). Used only for what
 *                  needs it: creating the other roles, creating/renaming databases in a restore,
 *                  `pg_reload_conf()`, backups. Never by the app.
 *   carebox_owner  owns the database, its schema objects and every table. Runs migrations
 *                  (install, upgrade, restore) and pg_restore. NOSUPERUSER, NOCREATEDB,
 *                  NOCREATEROLE, NOREPLICATION, NOBYPASSRLS.
 *   carebox_app    what the backends, the queue workers and PgBouncer log in as. NOSUPERUSER and no
 *                  ownership of anything, so no DDL, no TRUNCATE, no `session_replication_role`,
 *                  no `COPY … TO PROGRAM`. Its table privileges come from the migrations
 *                  (server/src/db/db.privileges.ts): SELECT and INSERT only on audit_events.
 *
 * The roles' passwords live in .env (POSTGRES_OWNER_PASSWORD, POSTGRES_APP_PASSWORD) and are set
 * on every install re-run and upgrade from there, as SCRAM-SHA-256 verifiers computed here, so no
 * plain password ever reaches PostgreSQL (or its log, should a statement fail). The SQL runs as the
 * superuser over the db container's local socket, through `docker compose exec -T db psql` with the
 * SQL on stdin: nothing on a command line.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { ComposeCli } from '../runtime/compose.cli.js';
import type { ExecResult } from './exec.js';
import { DIRECT_DB_ENV, serverCommand } from '../runtime/server.cli.js';
import type { SecretKey } from './secrets.store.js';

/** The database the compose template creates (POSTGRES_DB). */
export const DB_NAME = 'carebox';
/** The superuser the compose template creates (POSTGRES_USER). */
export const DB_SUPERUSER = 'carebox';
/** Owner role: migrations and restore. */
export const DB_OWNER_ROLE = 'carebox_owner';
/** Application role: backends, workers, PgBouncer. */
export const DB_APP_ROLE = 'carebox_app';

/**
 * A PostgreSQL SCRAM-SHA-256 password verifier (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`),
 * the format PostgreSQL stores in pg_authid and accepts in `ALTER ROLE … PASSWORD` (RFC 5802
 * §3 key derivation, RFC 5803 text form; PostgreSQL's scram_build_secret). 4096 iterations and a
 * 16-byte salt, PostgreSQL's defaults. The password must be ASCII without control characters
 * (Carebox's base64url secrets are), so SASLprep leaves it unchanged.
 * @throws Error for a password outside printable ASCII.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('scramVerifier: the password must be printable ASCII');
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Names and verifiers {@link roleSetupSql} works with (role names are parameters so tests can use their own). */
export interface RoleSetup {
  database: string;
  owner: string;
  app: string;
  /** SCRAM verifiers ({@link scramVerifier}) of the owner's and the app's passwords. */
  ownerVerifier: string;
  appVerifier: string;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const VERIFIER = /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/;

/**
 * SQL (plain statements, for psql or a driver's simple query; as a superuser, connected to `database`) that creates or updates the owner and
 * application roles and hands the database and everything in schema `public` to the owner. Safe to
 * run again: roles are created when missing, their attributes and passwords set every time, and
 * only objects not yet owned by the owner change hands (an install from before the roles existed:
 * its tables belonged to the superuser). One transaction. Pure.
 *
 * What the app may do with the tables is granted by the migrations (the owner), not here: see
 * server/src/db/db.privileges.ts.
 * @throws Error for a role or database name that is not a plain identifier, or a malformed verifier.
 */
export function roleSetupSql(r: RoleSetup): string {
  for (const name of [r.database, r.owner, r.app]) if (!IDENT.test(name)) throw new Error(`not a plain identifier: ${name}`);
  for (const v of [r.ownerVerifier, r.appVerifier]) if (!VERIFIER.test(v)) throw new Error('not a SCRAM-SHA-256 verifier');
  const attrs = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
  const role = (name: string, verifier: string, extra: string) => `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${name}') THEN CREATE ROLE ${name}; END IF;
END $$;
ALTER ROLE ${name} ${attrs} ${extra} PASSWORD '${verifier}';`;
  return `BEGIN;
${role(r.owner, r.ownerVerifier, 'INHERIT')}
-- The app role inherits nothing and is a member of nothing: only what is granted to it by name.
${role(r.app, r.appVerifier, 'NOINHERIT')}
DO $$ DECLARE m record; BEGIN
  FOR m IN SELECT g.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles u ON u.oid = a.member WHERE u.rolname = '${r.app}' LOOP
    EXECUTE format('REVOKE %I FROM ${r.app}', m.rolname);
  END LOOP;
END $$;
ALTER DATABASE ${r.database} OWNER TO ${r.owner};
ALTER SCHEMA public OWNER TO ${r.owner};
-- Hand over what an earlier version created as the superuser. Sequences owned by a column
-- (serial, identity) follow their table.
DO $$ DECLARE o record; BEGIN
  FOR o IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relowner <> '${r.owner}'::regrole
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i') AND c.relkind = 'S') LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO ${r.owner}', o.name);
  END LOOP;
  FOR o IN SELECT p.oid::regprocedure AS name, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND p.proowner <> '${r.owner}'::regrole LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${r.owner}', CASE o.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, o.name);
  END LOOP;
  FOR o IN SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0 AND t.typowner <> '${r.owner}'::regrole LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO ${r.owner}', o.name);
  END LOOP;
END $$;
-- No DDL for anyone but the owner: PostgreSQL before 15 lets PUBLIC create in schema public,
-- and every version lets PUBLIC create temporary tables.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE TEMPORARY ON DATABASE ${r.database} FROM PUBLIC;
GRANT CONNECT ON DATABASE ${r.database} TO ${r.app};
GRANT USAGE ON SCHEMA public TO ${r.app};
COMMIT;
`;
}

/** The secrets {@link applyDbRoles} needs. */
export type RoleSecrets = Pick<Record<SecretKey, string>, 'POSTGRES_OWNER_PASSWORD' | 'POSTGRES_APP_PASSWORD'>;

/**
 * Create or update the owner and application roles in the running stack's `db` container (as the
 * superuser over its local socket; SQL on stdin). Run after PostgreSQL is healthy and before
 * migrations, on every install, install re-run and upgrade.
 * @throws ExternalCommandError when psql fails (its message names the statement).
 */
export async function applyDbRoles(compose: ComposeCli, secrets: RoleSecrets): Promise<void> {
  const sql = roleSetupSql({
    database: DB_NAME,
    owner: DB_OWNER_ROLE,
    app: DB_APP_ROLE,
    ownerVerifier: scramVerifier(secrets.POSTGRES_OWNER_PASSWORD),
    appVerifier: scramVerifier(secrets.POSTGRES_APP_PASSWORD),
  });
  await compose.run(['exec', '-T', 'db', 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', DB_SUPERUSER, '-d', DB_NAME], { input: sql, timeoutMs: 120_000 });
}

/**
 * Environment for the one-off migration container (`migrate.js`): straight to PostgreSQL (never
 * through PgBouncer: migrations take session-level locks), as the owner role. The app role's name
 * tells the migrations whom to grant the tables to. Values are passed to Compose through its
 * process environment, never on its command line (ComposeCli.runOnce).
 */
export function migrationEnv(secrets: Pick<Record<SecretKey, string>, 'POSTGRES_OWNER_PASSWORD'>): Record<string, string> {
  return {
    ...DIRECT_DB_ENV,
    DATABASE_USER: DB_OWNER_ROLE,
    DATABASE_PASSWORD: secrets.POSTGRES_OWNER_PASSWORD,
    DATABASE_APP_ROLE: DB_APP_ROLE,
  };
}

/**
 * Apply the pending migrations in a one-off backend container (Compose `run --rm`), as the owner
 * role, straight to PostgreSQL ({@link migrationEnv}).
 * @param onLine each non-empty output line, trimmed to 200 characters (progress).
 * @returns the run's result (exit code 0; `stdout` holds the migrations' report).
 * @throws ExternalCommandError when the migrations fail (exit code ≠ 0).
 */
export async function runMigrations(
  compose: ComposeCli,
  secrets: Pick<Record<SecretKey, string>, 'POSTGRES_OWNER_PASSWORD'>,
  onLine: (line: string) => void = () => undefined,
): Promise<ExecResult> {
  return compose.runOnce('backend', serverCommand('migrate'), migrationEnv(secrets), (s) =>
    s
      .split('\n')
      .filter((l) => l.trim() !== '')
      .forEach((l) => onLine(l.trim().slice(0, 200))),
  );
}
