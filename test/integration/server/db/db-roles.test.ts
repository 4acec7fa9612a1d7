/**
 * Issue 10 item 2 on real PostgreSQL: the owner and application roles (installer/apply/db.roles.ts)
 * and the app's privileges (server/src/db/db.privileges.ts). An install from before the roles
 * (tables owned by the superuser, with data) gets them without losing anything; then, as the
 * application role, every way of rewriting the audit trail or the schema fails.
 *
 * Roles are cluster-wide, so this file uses role names of its own and drops them afterwards. The
 * shared test cluster trusts loopback logins, so passwords are not checked here: the e2e install
 * (SCRAM over the network, as in production) proves the verifiers.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import pg from 'pg';
import { roleSetupSql, scramVerifier } from '../../../../installer/apply/db.roles.js';
import { appPrivilegeStatements, grantAppPrivileges } from '../../../../server/src/db/db.privileges.js';
import { createKnex } from '../../../../server/src/db/knex.factory.js';
import { createLogger } from '../../../../server/src/observability/logger.js';
import { createTestDatabase, testConfig, uniqueSuffix, type TestDatabase } from '../support/services.js';

const silent = createLogger({ level: 'silent', role: 'test' });

function urlAs(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = 'unused-trust-auth';
  return u.toString();
}

/** The SQLSTATE of a failed query, or 'ok'. */
async function outcome(client: pg.Client, sql: string): Promise<string> {
  try {
    await client.query(sql);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

describe('db roles (integration): least-privilege application role on real PostgreSQL', function () {
  this.timeout(90_000);
  const suffix = uniqueSuffix();
  const owner = `it_owner_${suffix}`;
  const app = `it_app_${suffix}`;
  let database: TestDatabase;
  let superDb: Knex;
  let ownerDb: Knex;
  let appClient: pg.Client;
  let superClient: pg.Client;

  before(async () => {
    database = await createTestDatabase('roles');
    // An install from before the roles: migrated as the superuser, with a record and an audit event.
    superDb = createKnex(testConfig({ DATABASE_URL: database.url }), { applicationName: 'carebox-test', logger: silent });
    await superDb.migrate.latest();
    await superDb('patients').insert({ mrn: 'ROLE-1', given_name: 'Ada', family_name: 'Lovelace', birth_date: '1815-12-10', sex: 'female' });
    await superDb('audit_events').insert({ actor_username: 'before-roles', action: 'patient.read', resource_type: 'patient', outcome: 'success' });
    superClient = new pg.Client({ connectionString: database.url });
    await superClient.connect();
  });

  after(async () => {
    await appClient?.end().catch(() => undefined);
    await superClient?.end().catch(() => undefined);
    await ownerDb?.destroy();
    await superDb?.destroy();
    await database?.drop();
    const c = new pg.Client({ connectionString: process.env.CAREBOX_TEST_DATABASE_URL });
    await c.connect();
    try {
      for (const r of [app, owner]) await c.query(`DROP ROLE IF EXISTS ${r}`);
    } finally {
      await c.end();
    }
  });

  it('creates the roles and hands every table to the owner, keeping the data; running it again changes nothing', async () => {
    const setup = roleSetupSql({
      database: database.name,
      owner,
      app,
      ownerVerifier: scramVerifier('owner-password-0123456789'),
      appVerifier: scramVerifier('app-password-0123456789'),
    });
    await superClient.query(setup);
    await superClient.query(setup);
    const owners = await superClient.query(
      "SELECT DISTINCT pg_get_userbyid(relowner) AS o FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND relkind IN ('r', 'S', 'i')",
    );
    expect(owners.rows.map((r) => r.o)).to.deep.equal([owner]);
    const fn = await superClient.query("SELECT pg_get_userbyid(proowner) AS o FROM pg_proc WHERE proname = 'audit_events_append_only'");
    expect(fn.rows[0].o).to.equal(owner);
    const roles = await superClient.query(
      `SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit FROM pg_roles WHERE rolname IN ('${owner}', '${app}') ORDER BY rolname`,
    );
    for (const r of roles.rows)
      expect([r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls], r.rolname).to.deep.equal([false, false, false, false, false]);
    const verifier = await superClient.query(`SELECT rolpassword FROM pg_authid WHERE rolname = '${app}'`);
    expect(verifier.rows[0].rolpassword).to.match(/^SCRAM-SHA-256\$4096:/);
    expect((await superClient.query('SELECT count(*)::int AS n FROM patients')).rows[0].n).to.equal(1);
  });

  it('the owner migrates and grants; the app role then reads and writes records but only appends to the audit trail', async () => {
    ownerDb = createKnex(testConfig({ DATABASE_URL: urlAs(database.url, owner) }), { applicationName: 'carebox-test-owner', logger: silent });
    const [, applied] = (await ownerDb.migrate.latest()) as [number, string[]];
    expect(applied).to.deep.equal([]);
    const tables = await grantAppPrivileges(ownerDb, app);
    expect(tables).to.be.greaterThan(3);
    appClient = new pg.Client({ connectionString: urlAs(database.url, app) });
    await appClient.connect();
    expect((await appClient.query('SELECT current_user AS u')).rows[0].u).to.equal(app);
    expect(
      await outcome(
        appClient,
        "INSERT INTO patients (mrn, given_name, family_name, birth_date, sex) VALUES ('ROLE-2', 'Grace', 'Hopper', '1906-12-09', 'female')",
      ),
    ).to.equal('ok');
    expect(await outcome(appClient, "UPDATE patients SET given_name = 'G.' WHERE mrn = 'ROLE-2'")).to.equal('ok');
    expect(await outcome(appClient, "DELETE FROM patients WHERE mrn = 'ROLE-2'")).to.equal('ok');
    expect(
      await outcome(
        appClient,
        "INSERT INTO audit_events (actor_username, action, resource_type, outcome) VALUES ('app', 'patient.read', 'patient', 'success')",
      ),
    ).to.equal('ok');
    expect(await outcome(appClient, 'SELECT count(*) FROM audit_events')).to.equal('ok');
    expect(await outcome(appClient, 'SELECT count(*) FROM knex_migrations')).to.equal('ok');
  });

  it('as the app role, every way to rewrite the audit trail fails', async () => {
    const insufficient = '42501';
    expect(await outcome(appClient, "UPDATE audit_events SET actor_username = 'someone-else'")).to.equal(insufficient);
    expect(await outcome(appClient, 'DELETE FROM audit_events')).to.equal(insufficient);
    expect(await outcome(appClient, 'TRUNCATE audit_events')).to.equal(insufficient);
    expect(await outcome(appClient, 'SET session_replication_role = replica')).to.equal(insufficient);
    // The attack the audit found: switch triggers off for one transaction, then rewrite.
    await appClient.query('BEGIN');
    expect(await outcome(appClient, 'SET LOCAL session_replication_role = replica')).to.equal(insufficient);
    expect(await outcome(appClient, 'ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_or_delete')).to.equal(insufficient);
    expect(await outcome(appClient, 'DROP TRIGGER audit_events_no_update_or_delete ON audit_events')).to.equal(insufficient);
    expect(await outcome(appClient, 'DROP TABLE audit_events')).to.equal(insufficient);
    expect(await outcome(appClient, "COPY audit_events TO PROGRAM 'cat > /dev/null'")).to.equal(insufficient);
    expect(await outcome(appClient, "COPY (SELECT 1) TO '/tmp/carebox-it-copy'")).to.equal(insufficient);
    expect(await outcome(appClient, 'ALTER ROLE CURRENT_USER SUPERUSER')).to.equal(insufficient);
    const n = await superClient.query("SELECT count(*)::int AS n FROM audit_events WHERE actor_username IN ('before-roles', 'app')");
    expect(n.rows[0].n, 'every audit event is still there').to.equal(2);
  });

  it('as the app role, no DDL anywhere: no tables (also temporary), schemas, columns, functions or truncation', async () => {
    const insufficient = '42501';
    expect(await outcome(appClient, 'CREATE TABLE public.x (id int)')).to.equal(insufficient);
    expect(await outcome(appClient, 'CREATE TEMP TABLE x (id int)')).to.equal(insufficient);
    expect(await outcome(appClient, 'CREATE SCHEMA evil')).to.equal(insufficient);
    expect(await outcome(appClient, 'ALTER TABLE patients ADD COLUMN x int')).to.equal(insufficient);
    expect(await outcome(appClient, 'CREATE INDEX ON patients (mrn)')).to.equal(insufficient);
    expect(await outcome(appClient, 'CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$')).to.equal(insufficient);
    expect(await outcome(appClient, 'TRUNCATE patients CASCADE')).to.equal(insufficient);
    // Granting what it lacks is a no-op with a warning: it holds no grant option.
    await outcome(appClient, 'GRANT ALL ON audit_events TO PUBLIC');
    const p = await superClient.query(
      `SELECT has_table_privilege('${app}', 'audit_events', 'UPDATE') AS u, has_table_privilege('${app}', 'audit_events', 'TRUNCATE') AS t`,
    );
    expect(p.rows[0]).to.deep.equal({ u: false, t: false });
  });

  it('a table a later migration creates is usable by the app at once (default privileges), and the next grant keeps audit tables append-only', async () => {
    await ownerDb.raw('CREATE TABLE later_table (id int)');
    expect(await outcome(appClient, 'INSERT INTO later_table VALUES (1)')).to.equal('ok');
    expect(await outcome(appClient, 'TRUNCATE later_table')).to.equal('42501');
    await grantAppPrivileges(ownerDb, app);
    expect(await outcome(appClient, 'DELETE FROM audit_events')).to.equal('42501');
    expect(appPrivilegeStatements(app, ['audit_events'])).to.include(`GRANT SELECT, INSERT ON TABLE public.audit_events TO ${app}`);
  });
});
