import { expect } from 'chai';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { DB_APP_ROLE, DB_OWNER_ROLE, migrationEnv, roleSetupSql, scramVerifier } from '../../../installer/apply/db.roles.js';
import { appPrivilegeStatements } from '../../../server/src/db/db.privileges.js';

describe('apply: database roles', () => {
  it('builds a PostgreSQL SCRAM-SHA-256 verifier (RFC 5802 keys) that never contains the password', () => {
    const salt = Buffer.alloc(16, 7);
    const v = scramVerifier('pw-0123456789abcdef', salt);
    const [, iter, saltB64, stored, server] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(v)!;
    expect(iter).to.equal('4096');
    expect(Buffer.from(saltB64!, 'base64')).to.deep.equal(salt);
    const salted = pbkdf2Sync('pw-0123456789abcdef', salt, 4096, 32, 'sha256');
    expect(stored).to.equal(createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest('base64'));
    expect(server).to.equal(createHmac('sha256', salted).update('Server Key').digest('base64'));
    expect(v).to.not.include('pw-0123456789abcdef');
    expect(scramVerifier('same-password-0123')).to.not.equal(scramVerifier('same-password-0123'), 'a fresh salt each time');
    expect(() => scramVerifier("quote'injection")).to.not.throw();
    expect(() => scramVerifier('has space')).to.throw(/printable ASCII/);
  });

  it('role SQL makes non-superuser roles, refuses odd names, and has no plain password in it', () => {
    const sql = roleSetupSql({
      database: 'carebox',
      owner: DB_OWNER_ROLE,
      app: DB_APP_ROLE,
      ownerVerifier: scramVerifier('owner-secret-0123456789'),
      appVerifier: scramVerifier('app-secret-0123456789'),
    });
    expect(sql).to.match(/ALTER ROLE carebox_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD 'SCRAM-SHA-256\$/);
    expect(sql).to.include('ALTER DATABASE carebox OWNER TO carebox_owner');
    expect(sql).to.include('REVOKE TEMPORARY ON DATABASE carebox FROM PUBLIC');
    expect(sql).to.not.match(/owner-secret|app-secret/);
    expect(() =>
      roleSetupSql({
        database: 'carebox',
        owner: 'x; DROP',
        app: DB_APP_ROLE,
        ownerVerifier: scramVerifier('a-0123456789abcdef'),
        appVerifier: scramVerifier('b-0123456789abcdef'),
      }),
    ).to.throw(/identifier/);
    expect(() =>
      roleSetupSql({
        database: 'carebox',
        owner: DB_OWNER_ROLE,
        app: DB_APP_ROLE,
        ownerVerifier: "x'; DROP TABLE t; --",
        appVerifier: scramVerifier('b-0123456789abcdef'),
      }),
    ).to.throw(/verifier/);
  });

  it('migrations run as the owner, straight to PostgreSQL, and grant to the app role', () => {
    expect(migrationEnv({ POSTGRES_OWNER_PASSWORD: 'o-pw' })).to.deep.equal({
      DATABASE_HOST: 'db',
      DATABASE_PORT: '5432',
      DB_PGBOUNCER: 'false',
      DATABASE_USER: 'carebox_owner',
      DATABASE_PASSWORD: 'o-pw',
      DATABASE_APP_ROLE: 'carebox_app',
    });
  });

  it('the app may only read and append to audit_events, only read the migration tables, and change the rest', () => {
    const s = appPrivilegeStatements('carebox_app', ['patients', 'audit_events', 'knex_migrations', 'knex_migrations_lock']);
    expect(s).to.include('GRANT SELECT, INSERT ON TABLE public.audit_events TO carebox_app');
    expect(s).to.include('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.patients TO carebox_app');
    expect(s).to.include('GRANT SELECT ON TABLE public.knex_migrations TO carebox_app');
    expect(s.filter((x) => /TRUNCATE|ALL PRIVILEGES|GRANT ALL/.test(x))).to.deep.equal([]);
    expect(() => appPrivilegeStatements('carebox_app; drop', [])).to.throw();
    expect(() => appPrivilegeStatements('carebox_app', ['x"; drop'])).to.throw();
  });
});
