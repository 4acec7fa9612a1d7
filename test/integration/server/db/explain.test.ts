import { expect } from 'chai';
import type { Knex } from 'knex';
import { AppointmentRepository } from '../../../../server/src/appointments/appointment.repository.js';
import { AuditRepository } from '../../../../server/src/audit/audit.repository.js';
import { createKnex } from '../../../../server/src/db/knex.factory.js';
import { CLAIM_DUE_SQL, DUE_REMINDERS_SQL } from '../../../../server/src/notifications/outbox.repository.js';
import { PatientRepository } from '../../../../server/src/patients/patient.repository.js';
import { UserRepository } from '../../../../server/src/users/user.repository.js';
import { migratedDatabase, silent } from '../support/api.js';
import { testConfig, type TestDatabase } from '../support/services.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/**
 * Every list and search query the API runs is EXPLAINed on enough rows (tens of thousands, then
 * ANALYZE) with sequential scans discouraged, and must read its table through one of the indexes
 * meant for it: a missing or unusable index (wrong collation, wrong column order) fails here.
 */
describe('server db (integration): EXPLAIN shows index use for every list and search query', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let db: Knex;
  let ids: { patient: string; clinician: string; user: string };

  before(async () => {
    database = await migratedDatabase('explain');
    db = createKnex(testConfig({ DATABASE_URL: database.url }), { applicationName: 'carebox-test', logger: silent, statementTimeoutMs: 0 });
    await db.raw(`insert into users (username, display_name, role, password_hash)
                  select 'user' || g, 'User ' || g, (array['clinician','clerk','admin'])[1 + g % 3], 'x' from generate_series(1, 3000) g`);
    await db.raw(`insert into patients (mrn, given_name, family_name, birth_date, sex)
                  select 'EX-' || g, (array['Ann','Ben','Cat','Dan','Eve','Fay','Gus','Hal'])[1 + g % 8] || g % 101,
                         'Fam' || substr(md5(g::text), 1, 8), date '1950-01-01' + (g % 20000), 'unknown'
                    from generate_series(1, 30000) g`);
    await db.raw(`insert into appointments (patient_id, clinician_id, starts_at, ends_at, department, status)
                  select p.id, c.id, timestamptz '2030-01-01' + p.n * interval '30 min', timestamptz '2030-01-01' + p.n * interval '30 min' + interval '20 min',
                         'Dept' || p.n % 7, (array['booked','completed','cancelled','no-show','checked-in'])[1 + p.n % 5]
                    from (select id, row_number() over () as n from patients) p
                    join (select id, row_number() over () - 1 as k from users where role = 'clinician') c on c.k = p.n % 100
                   union all
                  select p.id, c.id, timestamptz '2031-01-01' + p.n * interval '30 min', timestamptz '2031-01-01' + p.n * interval '30 min' + interval '20 min',
                         'Dept' || p.n % 7, 'booked'
                    from (select id, row_number() over () as n from patients) p
                    join (select id, row_number() over () - 1 as k from users where role = 'clinician') c on c.k = p.n % 100`);
    await db.raw(`with p as (select id, row_number() over () - 1 as k from patients),
                       u as (select id, row_number() over () - 1 as k from users)
                  insert into audit_events (actor_user_id, actor_username, actor_role, action, resource_type, resource_id, patient_id, outcome, occurred_at)
                  select u.id, 'x', 'admin', (array['patient.read','patient.search.result','appointment.list.result','user.update'])[1 + (g % 4)],
                         'patient', p.id::text, p.id, 'success', now() - g * interval '1 second'
                    from generate_series(1, 60000) g
                    join p on p.k = g % 30000
                    join u on u.k = g % 3000`);
    await db.raw(`insert into notification_outbox (kind, dedupe_key, recipient, subject, body, status)
                  select 'appointment-reminder', 'k' || g, 'a@example.org', 's', 'b', (array['sent','sent','sent','pending'])[1 + g % 4] from generate_series(1, 20000) g`);
    await db.raw('analyze');
    ids = {
      patient: (await db('patients').where({ mrn: 'EX-777' }).first('id')).id,
      clinician: (await db('users').where({ role: 'clinician' }).first('id')).id,
      user: (await db('users').first('id')).id,
    };
  });
  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  /** EXPLAINs `sql` with sequential scans discouraged and returns the plan's nodes. */
  async function explain(sql: string, bindings: readonly unknown[]): Promise<PlanNode[]> {
    return db.transaction(async (trx) => {
      await trx.raw('set local enable_seqscan = off');
      const result = await trx.raw(`explain (format json) ${sql}`, bindings as Knex.ValueDict[]);
      return nodes((result.rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0]!.Plan);
    });
  }

  async function expectIndexes(
    query: Knex.QueryBuilder | { sql: string; bindings: readonly unknown[] },
    table: string,
    expected: readonly string[],
  ): Promise<void> {
    const { sql, bindings } = 'toSQL' in query ? query.toSQL() : query;
    const plan = await explain(sql, bindings);
    const seq = plan.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === table);
    expect(seq, `sequential scan of ${table} in\n${sql}`).to.have.length(0);
    const used = plan.map((n) => n['Index Name']).filter((n): n is string => n !== undefined);
    expect(
      used.some((name) => expected.includes(name)),
      `${sql}\nused ${JSON.stringify(used)}, expected one of ${expected.join(', ')}`,
    ).to.equal(true);
  }

  it('patients: the list, name search (one and two words), MRN search and the next page', async () => {
    const repo = new PatientRepository(db);
    await expectIndexes(repo.searchQuery({}, 26), 'patients', ['patients_name_key_family_idx']);
    await expectIndexes(repo.searchQuery({ q: 'fam1a' }, 26), 'patients', ['patients_name_key_family_idx', 'patients_name_key_given_idx']);
    await expectIndexes(repo.searchQuery({ q: 'ann1 fam1a' }, 26), 'patients', ['patients_name_key_family_idx', 'patients_name_key_given_idx']);
    await expectIndexes(repo.searchQuery({ q: 'EX-777' }, 26), 'patients', ['patients_mrn_unique']);
    await expectIndexes(repo.searchQuery({ after: ['fam5', 'ann1', '00000000-0000-4000-8000-000000000000'] }, 26), 'patients', [
      'patients_name_key_family_idx',
    ]);
  });

  it('appointments: by date range, clinician, patient, status, and the next page', async () => {
    const repo = new AppointmentRepository(db);
    const from = new Date('2030-03-01T00:00:00Z');
    const to = new Date('2030-03-02T00:00:00Z');
    await expectIndexes(repo.listQuery({}, 26), 'appointments', ['appointments_starts_at_idx']);
    await expectIndexes(repo.listQuery({ from, to }, 26), 'appointments', ['appointments_starts_at_idx']);
    await expectIndexes(repo.listQuery({ clinicianId: ids.clinician, from, to }, 26), 'appointments', ['appointments_clinician_starts_idx']);
    await expectIndexes(repo.listQuery({ patientId: ids.patient }, 26), 'appointments', ['appointments_patient_starts_idx']);
    await expectIndexes(repo.listQuery({ status: 'no-show', from }, 26), 'appointments', ['appointments_status_starts_idx']);
    await expectIndexes(repo.listQuery({ after: ['2030-05-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000'] }, 26), 'appointments', [
      'appointments_starts_at_idx',
    ]);
  });

  it('audit trail: newest first, by patient, actor, action, time range and the next page', async () => {
    const repo = new AuditRepository(db);
    await expectIndexes(repo.listQuery({}, 26), 'audit_events', ['audit_events_pkey']);
    await expectIndexes(repo.listQuery({ patientId: ids.patient }, 26), 'audit_events', ['audit_events_patient_idx']);
    await expectIndexes(repo.listQuery({ actorUserId: ids.user }, 26), 'audit_events', ['audit_events_actor_idx']);
    // A common action is a quarter of the trail: walking the primary key newest-first and filtering
    // is then the better plan; a rare one uses the action index. Either way, no table scan.
    await expectIndexes(repo.listQuery({ action: 'patient.read' }, 26), 'audit_events', ['audit_events_action_idx', 'audit_events_pkey']);
    await expectIndexes(repo.listQuery({ action: 'user.create' }, 26), 'audit_events', ['audit_events_action_idx']);
    await expectIndexes(repo.listQuery({ from: new Date(Date.now() - 600_000), to: new Date() }, 26), 'audit_events', [
      'audit_events_occurred_at_idx',
      'audit_events_pkey',
    ]);
    await expectIndexes(repo.listQuery({ beforeId: '1000' }, 26), 'audit_events', ['audit_events_pkey']);
  });

  it('users: the list, by role, the next page, and sign-in by name', async () => {
    const repo = new UserRepository(db);
    await expectIndexes(repo.listQuery({}, 26), 'users', ['users_username_unique']);
    await expectIndexes(repo.listQuery({ role: 'clinician', activeOnly: true }, 26), 'users', ['users_role_username_idx']);
    await expectIndexes(repo.listQuery({ role: 'clerk', after: ['user5', '00000000-0000-4000-8000-000000000000'] }, 26), 'users', ['users_role_username_idx']);
    await expectIndexes(db('users').whereRaw('lower(username) = lower(?)', ['User77']).first('*'), 'users', ['users_username_unique']);
    await expectIndexes(db('users').whereRaw('lower(email) = lower(?)', ['a@example.org']).first('*'), 'users', ['users_email_unique']);
  });

  it('jobs: due reminders and the outbox claim', async () => {
    await expectIndexes({ sql: DUE_REMINDERS_SQL, bindings: [24, 100] }, 'appointments', ['appointments_status_starts_idx', 'appointments_starts_at_idx']);
    await expectIndexes({ sql: CLAIM_DUE_SQL, bindings: [300, 20] }, 'notification_outbox', ['notification_outbox_due_idx']);
  });
});
