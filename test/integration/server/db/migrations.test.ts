import { expect } from 'chai';
import type { Knex } from 'knex';
import { createLogger } from '../../../../server/src/observability/logger.js';
import { createKnex } from '../../../../server/src/db/knex.factory.js';
import { LATEST_MIGRATION, MIGRATIONS } from '../../../../server/src/db/migrations/index.js';

const ALL = MIGRATIONS.map((m) => m.name);
import { toHttpError } from '../../../../server/src/http/error-mapping.js';
import { createTestDatabase, freePort, serverEnv, testConfig, type TestDatabase } from '../support/services.js';
import { SpawnedProcess } from '../support/spawned-process.js';

const silent = createLogger({ level: 'silent', role: 'test' });

describe('server db (integration): migrations on real PostgreSQL', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let db: Knex;

  before(async () => {
    database = await createTestDatabase('migrations');
    db = createKnex(testConfig({ DATABASE_URL: database.url }), { applicationName: 'carebox-test', logger: silent });
  });
  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('applies the migrations, then applies nothing on a second run', async () => {
    const [, first] = (await db.migrate.latest()) as [number, string[]];
    expect(first).to.deep.equal(ALL);
    expect(first[first.length - 1]).to.equal(LATEST_MIGRATION);
    const [, second] = (await db.migrate.latest()) as [number, string[]];
    expect(second).to.deep.equal([]);
    const [, pending] = (await db.migrate.list()) as [unknown[], unknown[]];
    expect(pending).to.have.length(0);
  });

  it('creates patients with a unique MRN and the name search indexes', async () => {
    const columns = await db('information_schema.columns').where({ table_name: 'patients' }).pluck('column_name');
    expect(columns).to.include.members(['id', 'mrn', 'given_name', 'family_name', 'birth_date', 'sex', 'created_at', 'updated_at', 'is_synthetic']);
    const indexes = await db('pg_indexes').where({ tablename: 'patients' }).pluck('indexname');
    expect(indexes).to.include.members(['patients_pkey', 'patients_mrn_unique', 'patients_name_key_family_idx', 'patients_name_key_given_idx']);
    expect(indexes, 'superseded by the "C"-collated search keys').not.to.include('patients_name_idx');

    const patient = { mrn: 'IT-0001', given_name: 'Ada', family_name: 'Lovelace', birth_date: '1815-12-10', sex: 'female' };
    const [row] = await db('patients').insert(patient).returning(['id', 'created_at']);
    expect(row.id).to.match(/^[0-9a-f-]{36}$/);
    const duplicate = await db('patients')
      .insert(patient)
      .then(
        () => null,
        (err: unknown) => err,
      );
    const mapped = toHttpError(duplicate, { bodyLimitBytes: 1024 });
    expect(mapped.status).to.equal(409);
    expect(mapped.message).to.include('patients_mrn_unique');
    expect(JSON.stringify(mapped.toJSON())).not.to.include('IT-0001');
  });

  it('rejects values outside the allowed sex codes and blank MRNs', async () => {
    const base = { given_name: 'A', family_name: 'B', birth_date: '2000-01-01' };
    const badSex = await db('patients')
      .insert({ ...base, mrn: 'IT-2', sex: 'x' })
      .then(
        () => null,
        (e: { code?: string }) => e.code,
      );
    expect(badSex).to.equal('23514');
    const blank = await db('patients')
      .insert({ ...base, mrn: '   ', sex: 'unknown' })
      .then(
        () => null,
        (e: { code?: string }) => e.code,
      );
    expect(blank).to.equal('23514');
  });

  it("has the seed's indexes (patient id, appointment date, user email) and the ones the lists need", async () => {
    const indexes = await db('pg_indexes').whereIn('tablename', ['patients', 'appointments', 'users', 'audit_events']).pluck('indexname');
    expect(indexes).to.include.members([
      'patients_pkey',
      'appointments_starts_at_idx',
      'users_email_unique',
      'users_username_unique',
      'appointments_clinician_starts_idx',
      'appointments_patient_starts_idx',
      'appointments_status_starts_idx',
      'audit_events_patient_idx',
      'audit_events_actor_idx',
    ]);
    const exclusion = await db('pg_constraint').where({ conname: 'appointments_no_double_booking' }).first('contype');
    expect(exclusion?.contype).to.equal('x');
  });

  it('keeps the audit trail append-only (UPDATE and DELETE are refused by the database)', async () => {
    await db('audit_events').insert({ actor_username: 'test', action: 'test.append', resource_type: 'test', outcome: 'success' });
    const update = await db('audit_events')
      .update({ outcome: 'error' })
      .then(
        () => null,
        (e: { message?: string }) => e.message,
      );
    expect(update).to.match(/append-only/);
    const remove = await db('audit_events')
      .delete()
      .then(
        () => null,
        (e: { message?: string }) => e.message,
      );
    expect(remove).to.match(/append-only/);
  });

  it('rolls back and re-applies cleanly', async () => {
    await db.migrate.rollback(undefined, true);
    expect(await db.schema.hasTable('patients')).to.equal(false);
    expect(await db.schema.hasTable('appointments')).to.equal(false);
    const [, applied] = (await db.migrate.latest()) as [number, string[]];
    expect(applied).to.deep.equal(ALL);
  });

  describe('migrate CLI (node server/src/migrate.ts)', () => {
    let cliDatabase: TestDatabase;
    before(async () => {
      cliDatabase = await createTestDatabase('migrate_cli');
    });
    after(async () => {
      await cliDatabase?.drop();
    });

    it('applies, logs what it applied, exits 0; a second run is a no-op that also exits 0', async () => {
      const env = serverEnv({ DATABASE_URL: cliDatabase.url, LOG_LEVEL: 'info' });
      const first = SpawnedProcess.start('migrate', env);
      expect(await first.exited, first.describe()).to.deep.equal({ code: 0, signal: null });
      const applied = first.logs.find((l) => l.msg === `applied ${ALL.length} migration(s)`);
      expect(applied, first.describe()).to.not.equal(undefined);
      expect(applied!.applied).to.deep.equal(ALL);

      const second = SpawnedProcess.start('migrate', env);
      expect(await second.exited, second.describe()).to.deep.equal({ code: 0, signal: null });
      expect(
        second.logs.some((l) => l.msg === 'database already up to date'),
        second.describe(),
      ).to.equal(true);
    });

    it('exits 1 with a clear message when the database is unreachable', async () => {
      const port = await freePort();
      const env = serverEnv({ DATABASE_URL: `postgres://carebox:carebox@127.0.0.1:${port}/nowhere`, DB_ACQUIRE_TIMEOUT_MS: '1000' });
      const run = SpawnedProcess.start('migrate', env);
      expect((await run.exited).code, run.describe()).to.equal(1);
      expect(run.stderr).to.match(/^carebox-migrate: migration failed: .*ECONNREFUSED/m);
      expect(run.stderr).not.to.include('    at ');
    });

    it('exits 1 naming the bad variables when the environment is invalid', async () => {
      const run = SpawnedProcess.start('migrate', { DATABASE_PORT: 'x', REDIS_HOST: 'r' });
      expect((await run.exited).code).to.equal(1);
      expect(run.stderr).to.include('carebox-migrate: invalid configuration');
      for (const name of ['DATABASE_PORT', 'DATABASE_HOST', 'DATABASE_NAME', 'DATABASE_USER', 'DATABASE_PASSWORD']) {
        expect(run.stderr).to.include(`  - ${name}:`);
      }
      expect(run.stderr).not.to.include('    at ');
    });
  });
  it('runs on a schema ahead of it: migrations a newer version applied are kept, not "corrupt"', async () => {
    // What a failed upgrade leaves: the new version's additive migration stays, the code rolls back.
    await db.schema.createTable('upgrade_newer_probe', (t) => t.uuid('patient_id').references('id').inTable('patients'));
    await db('knex_migrations').insert({ name: '29991231000000_newer_version_probe', batch: 99, migration_time: new Date() });
    try {
      const [, applied] = (await db.migrate.latest()) as [number, string[]];
      expect(applied).to.deep.equal([]);
      const [completed, pending] = (await db.migrate.list()) as [{ name: string }[], unknown[]];
      expect(pending).to.have.length(0);
      expect(completed.map((c) => c.name)).to.include('29991231000000_newer_version_probe');
    } finally {
      await db('knex_migrations').where({ name: '29991231000000_newer_version_probe' }).del();
      await db.schema.dropTableIfExists('upgrade_newer_probe');
    }
  });
});
