/**
 * Data access for `patients`.
 *
 * Search and the list share one order, (name_key_family, name_key_given, id), the case- and
 * accent-folded "C" collation keys of the names (see the patient-name-keys migration), and page by
 * keyset on it.
 */
import type { Knex } from 'knex';
import { NAME_KEY_FUNCTION } from '../db/migrations/20261207120000-patient-name-keys.migration.js';
import type { CreatePatientInput, Patient, PatientSex, UpdatePatientInput } from './patient.schemas.js';

interface PatientRow {
  id: string;
  mrn: string;
  given_name: string;
  family_name: string;
  birth_date: string;
  sex: PatientSex;
  phone: string | null;
  email: string | null;
  address: string | null;
  is_synthetic: boolean;
  name_key_family: string;
  name_key_given: string;
  created_at: Date;
  updated_at: Date;
}

/** A patient with its sort key, as the list returns it. */
export interface PatientWithKey {
  patient: Patient;
  key: readonly [string, string, string];
}

/** Search input: the raw term (optional) and the keyset position. */
export interface PatientSearch {
  q?: string;
  after?: readonly [string, string, string];
}

const COLUMNS = [
  'id',
  'mrn',
  'given_name',
  'family_name',
  'birth_date',
  'sex',
  'phone',
  'email',
  'address',
  'is_synthetic',
  'name_key_family',
  'name_key_given',
  'created_at',
  'updated_at',
];

function toPatient(row: PatientRow): Patient {
  return {
    id: row.id,
    mrn: row.mrn,
    givenName: row.given_name,
    familyName: row.family_name,
    birthDate: row.birth_date,
    sex: row.sex,
    phone: row.phone,
    email: row.email,
    address: row.address,
    isSynthetic: row.is_synthetic,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Escapes LIKE wildcards so user input matches literally. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Data access for patients. */
export class PatientRepository {
  constructor(private readonly db: Knex) {}

  /** Inserts a patient. @throws the driver's unique violation on patients_mrn_unique (→ 409). */
  async insert(input: CreatePatientInput, trx: Knex.Transaction): Promise<Patient> {
    const [row] = (await trx('patients')
      .insert({
        mrn: input.mrn,
        given_name: input.givenName,
        family_name: input.familyName,
        birth_date: input.birthDate,
        sex: input.sex,
        phone: input.phone ?? null,
        email: input.email ?? null,
        address: input.address ?? null,
      })
      .returning(COLUMNS)) as PatientRow[];
    return toPatient(row!);
  }

  /** The patient with this id, or null. */
  async findById(id: string, trx?: Knex.Transaction): Promise<Patient | null> {
    const row = (await (trx ?? this.db)('patients').where({ id }).first(COLUMNS)) as PatientRow | undefined;
    return row ? toPatient(row) : null;
  }

  /** True when the patient exists; locks it against deletion until `trx` ends. */
  async existsForShare(id: string, trx: Knex.Transaction): Promise<boolean> {
    const row = await trx('patients').where({ id }).forShare().first('id');
    return row !== undefined;
  }

  /** Applies `patch`; returns the updated patient, or null when there is none with this id. */
  async update(id: string, patch: UpdatePatientInput, trx: Knex.Transaction): Promise<Patient | null> {
    const columns: Record<string, unknown> = { updated_at: trx.fn.now() };
    if (patch.mrn !== undefined) columns.mrn = patch.mrn;
    if (patch.givenName !== undefined) columns.given_name = patch.givenName;
    if (patch.familyName !== undefined) columns.family_name = patch.familyName;
    if (patch.birthDate !== undefined) columns.birth_date = patch.birthDate;
    if (patch.sex !== undefined) columns.sex = patch.sex;
    if (patch.phone !== undefined) columns.phone = patch.phone;
    if (patch.email !== undefined) columns.email = patch.email;
    if (patch.address !== undefined) columns.address = patch.address;
    const [row] = (await trx('patients').where({ id }).update(columns).returning(COLUMNS)) as PatientRow[];
    return row ? toPatient(row) : null;
  }

  /**
   * The query behind {@link search} (exposed so tests can EXPLAIN it).
   *
   * `q`: an exact MRN, or one word matching the start of the family or given name, or two words
   * matching given + family (either order), case- and accent-insensitively: each word is folded by
   * the same SQL function as the stored keys. Each branch is served by an index: patients_mrn_unique,
   * patients_name_key_family_idx, patients_name_key_given_idx.
   */
  searchQuery(search: PatientSearch, limit: number): Knex.QueryBuilder {
    const q = this.db('patients').select(COLUMNS);
    const term = search.q?.trim();
    if (term !== undefined && term !== '') {
      const words = term
        .split(/[\s,]+/)
        .filter((w) => w !== '')
        .slice(0, 2)
        .map((w) => escapeLike(w));
      const prefix = (column: 'name_key_family' | 'name_key_given') => `"${column}" like (${NAME_KEY_FUNCTION}(?) || '%')`;
      q.where((w) => {
        w.where('mrn', term.toUpperCase());
        if (words.length === 1) {
          w.orWhereRaw(prefix('name_key_family'), [words[0]!]).orWhereRaw(prefix('name_key_given'), [words[0]!]);
        } else {
          w.orWhere((b) => b.whereRaw(prefix('name_key_given'), [words[0]!]).andWhereRaw(prefix('name_key_family'), [words[1]!]));
          w.orWhere((b) => b.whereRaw(prefix('name_key_family'), [words[0]!]).andWhereRaw(prefix('name_key_given'), [words[1]!]));
        }
      });
    }
    if (search.after !== undefined) {
      q.whereRaw('(name_key_family, name_key_given, id) > (?::text collate "C", ?::text collate "C", ?::uuid)', [...search.after]);
    }
    return q.orderBy([{ column: 'name_key_family' }, { column: 'name_key_given' }, { column: 'id' }]).limit(limit);
  }

  /** Up to `limit` patients matching `search`, in name order, each with its keyset key. */
  async search(search: PatientSearch, limit: number): Promise<PatientWithKey[]> {
    const rows = (await this.searchQuery(search, limit)) as PatientRow[];
    return rows.map((row) => ({ patient: toPatient(row), key: [row.name_key_family, row.name_key_given, row.id] as const }));
  }
}
