/**
 * Use cases of the patients API. Every read and change is audited (see AuditService); reads of
 * one patient go through the Redis read-through cache, writes invalidate it after they commit.
 */
import type { Knex } from 'knex';
import { z } from 'zod';
import type { AuditService } from '../audit/audit.service.js';
import type { RecordCache } from '../cache/record.cache.js';
import { assertFound, ConflictError } from '../http/http-error.js';
import { decodeCursor, toPage, type Page } from '../http/pagination.js';
import { RawJson } from '../http/raw-json.js';
import type { RequestContext } from '../http/request-context.js';
import type { PatientRepository } from './patient.repository.js';
import type { CreatePatientInput, Patient, UpdatePatientInput } from './patient.schemas.js';

/** Keyset of the patient list: name_key_family, name_key_given, id. */
const PATIENTS_CURSOR = [z.string().max(200), z.string().max(200), z.uuid()] as const;

/** Translates the MRN unique violation into a clear 409. */
function translateMrnConflict(err: unknown): never {
  const e = err as { code?: unknown; constraint?: unknown };
  if (e.code === '23505' && e.constraint === 'patients_mrn_unique') {
    throw new ConflictError('another patient has this MRN', 'MRN_TAKEN', { cause: err });
  }
  throw err;
}

/** Use cases of the patients API. */
export class PatientService {
  constructor(
    private readonly patients: PatientRepository,
    private readonly cache: RecordCache<Patient>,
    private readonly audit: AuditService,
  ) {}

  /** Registers a patient. @throws ConflictError MRN_TAKEN, AuditUnavailableError */
  async create(ctx: RequestContext, input: CreatePatientInput): Promise<Patient> {
    return this.audit.change(ctx, { action: 'patient.create', resourceType: 'patient' }, async (trx) => {
      const patient = await this.patients.insert(input, trx).catch(translateMrnConflict);
      return { result: patient, resourceId: patient.id, patientId: patient.id };
    });
  }

  /** Reads one patient (cache first). @throws NotFoundError, AuditUnavailableError */
  async get(ctx: RequestContext, id: string): Promise<Patient> {
    return this.audit.read(ctx, { action: 'patient.read', resourceType: 'patient', resourceId: id, patientId: id }, async () => {
      const patient = await this.cache.getOrLoad(id, () => this.patients.findById(id));
      assertFound(patient, 'patient');
      return { result: patient };
    });
  }

  /**
   * Reads one patient as JSON text (what the API sends): a cache hit goes out as Redis holds it.
   * Audited like {@link get}. @throws NotFoundError, AuditUnavailableError
   */
  async getJson(ctx: RequestContext, id: string): Promise<RawJson> {
    // Patients serialize with `id` first (toPatient), so a cached text of this record starts so.
    const start = `{"id":${JSON.stringify(id)},`;
    return this.audit.read(ctx, { action: 'patient.read', resourceType: 'patient', resourceId: id, patientId: id }, async () => {
      const text = await this.cache.getOrLoadJson(
        id,
        () => this.patients.findById(id),
        (t) => t.startsWith(start),
      );
      assertFound(text, 'patient');
      return { result: new RawJson(text) };
    });
  }

  /** Changes a patient, then invalidates the cached copy. @throws NotFoundError, ConflictError MRN_TAKEN */
  async update(ctx: RequestContext, id: string, patch: UpdatePatientInput): Promise<Patient> {
    const patient = await this.audit.change(
      ctx,
      { action: 'patient.update', resourceType: 'patient', resourceId: id, patientId: id },
      async (trx: Knex.Transaction) => {
        const updated = await this.patients.update(id, patch, trx).catch(translateMrnConflict);
        assertFound(updated, 'patient');
        return { result: updated, details: { fields: Object.keys(patch) } };
      },
    );
    await this.cache.invalidate(id);
    return patient;
  }

  /**
   * Searches by MRN or name (or lists all, in name order). The search terms are not recorded
   * anywhere; the audit trail gets one `patient.search` event with the count and one
   * `patient.search.result` event per patient returned.
   * @throws BadRequestError INVALID_CURSOR, AuditUnavailableError
   */
  async search(ctx: RequestContext, q: string | undefined, limit: number, cursor: string | undefined): Promise<Page<Patient>> {
    const after = decodeCursor('patients', cursor, PATIENTS_CURSOR);
    return this.audit.read(ctx, { action: 'patient.search', resourceType: 'patient' }, async () => {
      const rows = await this.patients.search({ ...(q === undefined ? {} : { q }), ...(after ? { after } : {}) }, limit + 1);
      const page = toPage(rows, limit, 'patients', (r) => r.key);
      const items = page.items.map((r) => r.patient);
      return {
        result: { items, nextCursor: page.nextCursor },
        details: { resultCount: items.length, filtered: q !== undefined },
        extra: items.map((p) => ({
          action: 'patient.search.result',
          resourceType: 'patient',
          resourceId: p.id,
          patientId: p.id,
          outcome: 'success' as const,
        })),
      };
    });
  }
}
