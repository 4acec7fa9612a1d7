/**
 * Synthetic demo data for trials and load tests: patients, clinicians and appointments that are
 * clearly not real people.
 *
 * Marking: every row has `is_synthetic = true`; patients also carry their data set's name in
 * `demo_tenant` and an MRN prefix (`DEMO-0000001` for tenant `demo`), clinicians a user-name prefix
 * (`demo-clinician-001`) and cannot sign in (their password hash is not a hash). `remove` deletes only
 * synthetic rows, plus appointments and exports that refer to a synthetic patient or clinician
 * (those describe nobody real); a real patient, user or appointment between real people is never
 * touched.
 *
 * Idempotent-ish: patient i always gets the same MRN, name and birth date, and existing MRNs are
 * skipped, so re-running with the same N adds nothing and a larger N tops up (with the tenant's
 * existing clinicians, so new slots follow the old ones). Appointments are made for newly created
 * patients only; a slot that collides with an existing appointment is skipped.
 *
 * Fast: rows go in with `INSERT … SELECT FROM unnest(arrays)` in batches of 2000 (one round trip and
 * one parameter per column per batch).
 */
import type { Knex } from 'knex';
import { AuditRepository } from '../audit/audit.repository.js';

/** Options of {@link createDemoData}. */
export interface DemoDataOptions {
  /**
   * Synthetic sign-in accounts (clerks, `<tenant>-clerk-00001` …) for load tests; default 0. They
   * all get `usersPasswordHash`, which is required when this is above 0.
   */
  users?: number;
  /** argon2id PHC hash of the synthetic accounts' password (hashed once by the caller). */
  usersPasswordHash?: string;
  /** How many synthetic patients the tenant should have. */
  patients: number;
  /** Name of the data set, `[a-z0-9-]{1,20}`; default `demo`. */
  tenant: string;
  /** Clinicians of the data set; default: as many as the tenant has, else clamp(ceil(patients / 250), 2, 200), or none for 0 patients. */
  clinicians?: number;
  /** Appointments per new patient; default 2. */
  appointmentsPerPatient?: number;
  /** The day the schedule centres on (tests); default today (UTC). */
  today?: Date;
}

/** What create did. */
export interface DemoDataReport {
  action: 'create';
  tenant: string;
  patients: { requested: number; created: number; existing: number };
  clinicians: { created: number; existing: number };
  /** Synthetic sign-in accounts: new ones, and existing ones whose password was reset. */
  users: { created: number; existing: number };
  appointments: { created: number; skipped: number };
  durationMs: number;
}

/** What remove did. */
export interface DemoRemovalReport {
  action: 'remove';
  tenant: string | null;
  /** `users`: synthetic sign-in accounts (clerks of {@link createDemoData}'s `users`). */
  removed: { patients: number; appointments: number; clinicians: number; users: number };
  durationMs: number;
}

export const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,19}$/;
const BATCH = 2_000;
const SLOT_MINUTES = 30;
const SLOTS_PER_DAY = 16; // 08:00-16:00 UTC
/** The schedule starts this many days before `today` (past appointments are completed etc.). */
const DAYS_BACK = 30;

const GIVEN = [
  'Alex',
  'Billie',
  'Casey',
  'Dana',
  'Eli',
  'Frankie',
  'Gale',
  'Harper',
  'Indigo',
  'Jules',
  'Kai',
  'Lane',
  'Morgan',
  'Noor',
  'Oakley',
  'Parker',
  'Quinn',
  'Reese',
  'Sage',
  'Tatum',
  'Uma',
  'Vale',
  'Wren',
  'Xen',
  'Yael',
  'Zuri',
  'Ari',
  'Blair',
  'Cruz',
  'Drew',
];
const FAMILY = [
  'Synthetica',
  'Demoson',
  'Placeholder',
  'Mockwell',
  'Sampleton',
  'Fakhri',
  'Testani',
  'Exemplo',
  'Fixture',
  'Stubbs',
  'Dummer',
  'Proxmire',
  'Simulant',
  'Avatarov',
  'Specimen',
  'Template',
  'Prototyp',
  'Modelle',
  'Facsimile',
  'Replica',
  'Standin',
  'Surrogate',
];
const DEPARTMENTS = [
  'Cardiology',
  'Dermatology',
  'Emergency',
  'General Medicine',
  'Neurology',
  'Oncology',
  'Orthopedics',
  'Pediatrics',
  'Radiology',
  'Surgery',
];
const SEXES = ['female', 'male', 'other', 'unknown'] as const;

/** A deterministic pseudo-random number in [0, 1) for (seed, i, salt) (mulberry32). */
function rand(seed: number, i: number, salt: number): number {
  let t = (seed ^ Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  t = (t + 0x6d2b79f5) >>> 0;
  let r = Math.imul(t ^ (t >>> 15), 1 | t);
  r ^= r + Math.imul(r ^ (r >>> 7), 61 | r);
  return ((r ^ (r >>> 14)) >>> 0) / 4_294_967_296;
}

function seedOf(tenant: string): number {
  let h = 2166136261;
  for (const c of tenant) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

const pick = <T>(list: readonly T[], r: number): T => list[Math.floor(r * list.length)]!;

/** The MRN prefix of a tenant, e.g. `DEMO-`. */
export function mrnPrefix(tenant: string): string {
  return `${tenant.toUpperCase()}-`;
}

/** The user-name prefix of a tenant's clinicians, e.g. `demo-clinician-`. */
export function clinicianPrefix(tenant: string): string {
  return `${tenant}-clinician-`;
}

/** The user-name prefix of a tenant's synthetic sign-in accounts, e.g. `demo-clerk-`. */
export function clerkPrefix(tenant: string): string {
  return `${tenant}-clerk-`;
}

/** User name of synthetic account i (1-based) of a tenant, e.g. `demo-clerk-00001`. */
export function syntheticUsername(tenant: string, i: number): string {
  return `${clerkPrefix(tenant)}${String(i).padStart(5, '0')}`;
}

/** Most synthetic sign-in accounts one tenant may have. */
export const MAX_SYNTHETIC_USERS = 20_000;

/** Patient i (1-based) of a tenant: always the same. */
export function syntheticPatient(tenant: string, i: number) {
  const seed = seedOf(tenant);
  const year = 1930 + Math.floor(rand(seed, i, 3) * 90);
  const month = 1 + Math.floor(rand(seed, i, 4) * 12);
  const day = 1 + Math.floor(rand(seed, i, 5) * 28);
  return {
    mrn: `${mrnPrefix(tenant)}${String(i).padStart(7, '0')}`,
    givenName: pick(GIVEN, rand(seed, i, 1)),
    familyName: `${pick(FAMILY, rand(seed, i, 2))} (demo)`,
    birthDate: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
    sex: pick(SEXES, rand(seed, i, 6)),
    email: `demo-patient-${i}@example.invalid`,
  };
}

/**
 * Creates (tops up) a tenant's synthetic data.
 * @throws Error for bad options; driver errors.
 */
export async function createDemoData(db: Knex, options: DemoDataOptions): Promise<DemoDataReport> {
  const started = Date.now();
  const { tenant } = options;
  if (!TENANT_PATTERN.test(tenant)) throw new Error('tenant must be 1-20 lower-case letters, digits or "-"');
  if (!Number.isInteger(options.patients) || options.patients < 0 || options.patients > 5_000_000) {
    throw new Error('patients must be an integer between 0 and 5000000');
  }
  const clinicianCount = await clinicianCountFor(db, tenant, options);
  const today = options.today ?? new Date();
  const plan: AppointmentPlan = {
    perPatient: options.appointmentsPerPatient ?? 2,
    anchor: Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - DAYS_BACK * 86_400_000,
    now: Date.now(),
    seed: seedOf(tenant),
    clinicians: [],
  };
  const { inserted: insertedClinicians, clinicians } = await upsertClinicians(db, tenant, clinicianCount);
  if (clinicians.length === 0 && options.patients > 0) throw new Error('no clinicians could be created (user names taken by real users?)');
  plan.clinicians = clinicians;
  const users = await upsertSyntheticUsers(db, tenant, options.users ?? 0, options.usersPasswordHash);

  let createdPatients = 0;
  let createdAppointments = 0;
  let attemptedAppointments = 0;
  for (let from = 1; from <= options.patients; from += BATCH) {
    const to = Math.min(options.patients, from + BATCH - 1);
    const batch = Array.from({ length: to - from + 1 }, (_, k) => ({ i: from + k, ...syntheticPatient(tenant, from + k) }));
    const rows = await insertPatients(db, tenant, batch);
    createdPatients += rows.length;
    if (rows.length === 0 || plan.perPatient === 0) continue;
    const cols = appointmentColumns(rows, new Map(batch.map((p) => [p.mrn, p.i])), plan);
    attemptedAppointments += cols.patient.length;
    createdAppointments += await insertAppointments(db, cols);
  }

  const report: DemoDataReport = {
    action: 'create',
    tenant,
    patients: { requested: options.patients, created: createdPatients, existing: options.patients - createdPatients },
    clinicians: { created: insertedClinicians, existing: clinicians.length - insertedClinicians },
    users,
    appointments: { created: createdAppointments, skipped: attemptedAppointments - createdAppointments },
    durationMs: Date.now() - started,
  };
  await new AuditRepository(db).append({ userId: null, username: 'system:demo-data', role: null }, { ip: null, requestId: null }, [
    {
      action: 'demo-data.create',
      resourceType: 'demo-data',
      resourceId: tenant,
      outcome: 'success',
      details: { patients: report.patients, users: report.users, appointments: report.appointments },
    },
  ]);
  return report;
}

/** A synthetic clinician as the appointments need it. */
interface DemoClinician {
  id: string;
  username: string;
  department: string;
}

/** How a tenant's appointments are laid out: per patient, from `anchor` (ms), statuses relative to `now` (ms). */
interface AppointmentPlan {
  perPatient: number;
  anchor: number;
  now: number;
  seed: number;
  clinicians: DemoClinician[];
}

/**
 * The clinicians a tenant gets: `options.clinicians`, else the tenant's existing count (a top-up
 * keeps it, so new patients' slots follow the earlier ones instead of colliding with them), else one
 * per 250 patients (2..200). No patients asked for: no clinicians either, unless asked for by
 * number (they would show up in the real clinician list with nothing to do).
 */
async function clinicianCountFor(db: Knex, tenant: string, options: DemoDataOptions): Promise<number> {
  const existingClinicians = Number(
    (
      (await db('users')
        .where('is_synthetic', true)
        .where('username', 'like', `${clinicianPrefix(tenant)}%`)
        .count({ n: '*' })) as Array<{ n: string }>
    )[0]?.n ?? 0,
  );
  return (
    options.clinicians ??
    (existingClinicians > 0 || options.patients === 0 ? existingClinicians : Math.min(200, Math.max(2, Math.ceil(options.patients / 250))))
  );
}

/** Create the tenant's `count` clinicians (kept when they exist); returns how many were new and all of them, in order. */
async function upsertClinicians(db: Knex, tenant: string, count: number): Promise<{ inserted: number; clinicians: DemoClinician[] }> {
  const names = Array.from({ length: count }, (_, k) => `${clinicianPrefix(tenant)}${String(k + 1).padStart(3, '0')}`);
  const insertedClinicians = await db.raw<{ rows: unknown[] }>(
    `insert into users (username, display_name, role, department, password_hash, must_change_password, is_synthetic)
     select u, 'Dr ' || initcap(replace(u, '-', ' ')), 'clinician', d, '!synthetic: no sign-in', false, true
       from unnest(?::text[], ?::text[]) as t(u, d)
     on conflict do nothing
     returning id`,
    [names, names.map((_, k) => DEPARTMENTS[k % DEPARTMENTS.length]!)],
  );
  const clinicianRows = (await db('users').where('is_synthetic', true).whereIn('username', names).select('id', 'username', 'department')) as DemoClinician[];
  const clinicians = names.map((n) => clinicianRows.find((c) => c.username === n)).filter((c): c is NonNullable<typeof c> => c !== undefined);
  return { inserted: insertedClinicians.rows.length, clinicians };
}

/** Insert a batch of synthetic patients (existing MRNs are kept); returns the new rows. */
async function insertPatients(
  db: Knex,
  tenant: string,
  batch: Array<ReturnType<typeof syntheticPatient> & { i: number }>,
): Promise<Array<{ id: string; mrn: string }>> {
  const inserted = await db.raw<{ rows: Array<{ id: string; mrn: string }> }>(
    `insert into patients (mrn, given_name, family_name, birth_date, sex, email, is_synthetic, demo_tenant)
     select m, g, f, b, s, e, true, ?
       from unnest(?::text[], ?::text[], ?::text[], ?::date[], ?::text[], ?::text[]) as t(m, g, f, b, s, e)
     on conflict (mrn) do nothing
     returning id, mrn`,
    [
      tenant,
      batch.map((p) => p.mrn),
      batch.map((p) => p.givenName),
      batch.map((p) => p.familyName),
      batch.map((p) => p.birthDate),
      batch.map((p) => p.sex),
      batch.map((p) => p.email),
    ],
  );
  return inserted.rows;
}

/** Columns of the appointments of new patients: each patient's slots, round-robin over the clinicians, 8:00 onwards. Pure. */
function appointmentColumns(rows: Array<{ id: string; mrn: string }>, indexByMrn: Map<string, number>, plan: AppointmentPlan) {
  const { perPatient, clinicians, anchor, now, seed } = plan;
  const cols = {
    patient: [] as string[],
    clinician: [] as string[],
    start: [] as string[],
    end: [] as string[],
    department: [] as string[],
    status: [] as string[],
  };
  for (const row of rows) {
    const i = indexByMrn.get(row.mrn)!;
    for (let j = 0; j < perPatient; j += 1) {
      const slot = (i - 1) * perPatient + j;
      const clinician = clinicians[slot % clinicians.length]!;
      const sequence = Math.floor(slot / clinicians.length);
      const day = Math.floor(sequence / SLOTS_PER_DAY);
      const start = anchor + day * 86_400_000 + 8 * 3_600_000 + (sequence % SLOTS_PER_DAY) * SLOT_MINUTES * 60_000;
      const r = rand(seed, slot, 7);
      const status = start < now ? (r < 0.9 ? 'completed' : r < 0.95 ? 'no-show' : 'cancelled') : r < 0.95 ? 'booked' : 'cancelled';
      cols.patient.push(row.id);
      cols.clinician.push(clinician.id);
      cols.start.push(new Date(start).toISOString());
      cols.end.push(new Date(start + SLOT_MINUTES * 60_000).toISOString());
      cols.department.push(clinician.department);
      cols.status.push(status);
    }
  }
  return cols;
}

/** Insert appointment columns (duplicates skipped); returns how many were new. */
async function insertAppointments(db: Knex, cols: ReturnType<typeof appointmentColumns>): Promise<number> {
  const appointments = await db.raw<{ rows: unknown[] }>(
    `insert into appointments (patient_id, clinician_id, starts_at, ends_at, department, status, is_synthetic)
     select p, c, s, e, d, st, true
       from unnest(?::uuid[], ?::uuid[], ?::timestamptz[], ?::timestamptz[], ?::text[], ?::text[]) as t(p, c, s, e, d, st)
     on conflict do nothing
     returning id`,
    [cols.patient, cols.clinician, cols.start, cols.end, cols.department, cols.status],
  );
  return appointments.rows.length;
}

/**
 * Removes synthetic data: of one tenant, or every tenant when `tenant` is null. One transaction.
 * @throws Error for a bad tenant name; driver errors.
 */
export async function removeDemoData(db: Knex, tenant: string | null): Promise<DemoRemovalReport> {
  const started = Date.now();
  if (tenant !== null && !TENANT_PATTERN.test(tenant)) throw new Error('tenant must be 1-20 lower-case letters, digits or "-"');
  const removed = await db.transaction(async (trx) => {
    const patients = trx('patients').where('is_synthetic', true).select('id');
    const clinicians = trx('users').where('is_synthetic', true).where('role', 'clinician').select('id');
    const accounts = trx('users').where('is_synthetic', true).whereNot('role', 'clinician').select('id');
    if (tenant !== null) {
      patients.where('demo_tenant', tenant);
      clinicians.where('username', 'like', `${escapeLikePattern(clinicianPrefix(tenant))}%`);
      accounts.where('username', 'like', `${escapeLikePattern(clerkPrefix(tenant))}%`);
    }
    const appointmentQuery = trx('appointments').where((w) => {
      w.whereIn('patient_id', patients.clone()).orWhereIn('clinician_id', clinicians.clone());
      if (tenant === null) w.orWhere('is_synthetic', true);
    });
    const appointmentCount = await appointmentQuery.delete();
    // Exports and outbox rows go with their patient / appointment (ON DELETE CASCADE).
    const patientCount = await trx('patients').whereIn('id', patients.clone()).delete();
    const clinicianCount = await trx('users').whereIn('id', clinicians.clone()).delete();
    const userCount = await trx('users').whereIn('id', accounts.clone()).delete();
    return { patients: patientCount, appointments: appointmentCount, clinicians: clinicianCount, users: userCount };
  });
  const report: DemoRemovalReport = { action: 'remove', tenant, removed, durationMs: Date.now() - started };
  await new AuditRepository(db).append({ userId: null, username: 'system:demo-data', role: null }, { ip: null, requestId: null }, [
    { action: 'demo-data.remove', resourceType: 'demo-data', resourceId: tenant, outcome: 'success', details: { removed } },
  ]);
  return report;
}

/** `value` with LIKE's wildcards escaped, so it matches literally as a prefix. */
function escapeLikePattern(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Creates (or tops up to) `count` synthetic clerk accounts of a tenant, all with `passwordHash`,
 * active and without a pending password change. Existing synthetic accounts of the tenant get
 * the new hash and a cleared lockout (a crashed earlier load test may have left them with another
 * password). A real user is never changed: a user name taken by one is an error.
 * @throws Error for a bad count, a missing hash, or user names held by real users.
 */
export async function upsertSyntheticUsers(
  db: Knex,
  tenant: string,
  count: number,
  passwordHash: string | undefined,
): Promise<{ created: number; existing: number }> {
  if (!Number.isInteger(count) || count < 0 || count > MAX_SYNTHETIC_USERS) throw new Error(`users must be an integer between 0 and ${MAX_SYNTHETIC_USERS}`);
  if (count === 0) return { created: 0, existing: 0 };
  if (passwordHash === undefined || !passwordHash.startsWith('$argon2')) throw new Error('synthetic users need an argon2 password hash');
  let created = 0;
  let existing = 0;
  for (let from = 1; from <= count; from += BATCH) {
    const names = Array.from({ length: Math.min(count, from + BATCH - 1) - from + 1 }, (_, k) => syntheticUsername(tenant, from + k));
    const result = await db.raw<{ rows: Array<{ inserted: boolean }> }>(
      `insert into users (username, display_name, role, department, password_hash, must_change_password, is_synthetic)
       select u, 'Load test ' || u, 'clerk', 'Load test', ?, false, true
         from unnest(?::text[]) as t(u)
       on conflict ((lower(username))) do update
         set password_hash = excluded.password_hash, active = true, must_change_password = false,
             failed_login_count = 0, locked_until = null, updated_at = now()
         where users.is_synthetic
       returning (xmax = 0) as inserted`,
      [passwordHash, names],
    );
    for (const row of result.rows) {
      if (row.inserted) created += 1;
      else existing += 1;
    }
    if (result.rows.length < names.length)
      throw new Error(`${names.length - result.rows.length} synthetic user name(s) of tenant ${tenant} are taken by real users`);
  }
  return { created, existing };
}
