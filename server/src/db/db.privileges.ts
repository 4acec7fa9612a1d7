/**
 * What the application role may do with the tables, granted by the owner role right after the
 * migrations (migrate.ts), so every table a migration adds is covered in the same run.
 *
 *   every table in schema public   SELECT, INSERT, UPDATE, DELETE   (no TRUNCATE, REFERENCES, TRIGGER)
 *   append-only tables             SELECT, INSERT                    (audit_events)
 *   knex's migration tables        SELECT                            (readiness checks the schema)
 *   sequences                      USAGE, SELECT                     (nextval for inserts)
 *
 * plus default privileges, so a table the owner creates later is readable and writable by the app
 * even before the next grant runs. The app role owns nothing (installer/apply/db.roles.ts), so it
 * can run no DDL and cannot drop or alter these tables or their triggers.
 */
import type { Knex } from 'knex';
import { MIGRATIONS_TABLE } from './migrations/index.js';

/** Tables the app may only read and append to: their history is never rewritten. */
export const APPEND_ONLY_TABLES: readonly string[] = ['audit_events'];

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The grant statements for `appRole`, as run by the owner of the tables (one string per statement).
 * Idempotent: REVOKE ALL first, then GRANT, table by table. Pure.
 * @param tables the tables in schema public
 * @throws Error for a role or table name that is not a plain identifier.
 */
export function appPrivilegeStatements(appRole: string, tables: readonly string[]): string[] {
  if (!IDENT.test(appRole)) throw new Error(`not a plain role name: ${appRole}`);
  const out: string[] = [`GRANT USAGE ON SCHEMA public TO ${appRole}`];
  const migrationTables = new Set([MIGRATIONS_TABLE, `${MIGRATIONS_TABLE}_lock`]);
  for (const t of [...tables].sort()) {
    if (!IDENT.test(t)) throw new Error(`not a plain table name: ${t}`);
    out.push(`REVOKE ALL ON TABLE public.${t} FROM ${appRole}`);
    const privileges = migrationTables.has(t) ? 'SELECT' : APPEND_ONLY_TABLES.includes(t) ? 'SELECT, INSERT' : 'SELECT, INSERT, UPDATE, DELETE';
    out.push(`GRANT ${privileges} ON TABLE public.${t} TO ${appRole}`);
  }
  out.push(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${appRole}`);
  out.push(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${appRole}`);
  out.push(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${appRole}`);
  return out;
}

/**
 * Grant the application role its privileges on every table in schema public, in one transaction,
 * as the connected role (the owner). Run after `migrate.latest()`.
 * @returns the number of tables covered.
 * @throws Error from PostgreSQL (the role does not exist, the connected role does not own a table).
 */
export async function grantAppPrivileges(db: Knex, appRole: string): Promise<number> {
  return db.transaction(async (trx) => {
    const tables = (await trx('pg_tables').where({ schemaname: 'public' }).pluck('tablename')) as string[];
    for (const sql of appPrivilegeStatements(appRole, tables)) await trx.raw(sql);
    return tables.length;
  });
}
