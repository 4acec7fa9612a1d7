/**
 * The request mix of one virtual user of `carebox loadtest` (and of the bench's read mix), as a
 * closed-loop autocannon sequence. One cycle is what a clerk does at the front desk:
 *   1. search a patient by MRN (`GET /api/v1/patients?q=<MRN>`; the MRN of a random synthetic
 *      patient, as if scanned from a wristband),
 *   2. open the record found (a cold read: usually not in the Redis cache yet),
 *   3. open one of a few patients everybody is working on (a cache-hot read),
 *   4. list the found patient's appointments,
 *   5. book an appointment for them (optional) in a slot nobody else books.
 * Every request touches synthetic data only: MRNs of the load-test tenant, the patients they
 * return, the tenant's clinicians. Requests carry the virtual user's own session token.
 */
import type { LoadRequest } from './loadtest.load.js';

/** API prefix of the Carebox server. */
export const API = '/api/v1';

/** What the mix needs to know about the synthetic data set. */
export interface MixData {
  /**
   * MRN prefix of the tenant's synthetic patients, e.g. `LT-K3X9Q2-` (server/src/demo/
   * demo-data.generator.ts makes MRN i = prefix + i zero-padded to 7 digits).
   */
  mrnPrefix: string;
  /** Synthetic patients in the tenant (MRNs 1..patientCount). */
  patientCount: number;
  /** Ids of the cache-hot synthetic patients (≥ 1). */
  hotPatientIds: readonly string[];
  /** Ids of the tenant's synthetic clinicians to book with (≥ 1 when booking). */
  clinicianIds: readonly string[];
}

/** Hands out appointment slots that no two requests of one run share. */
export class SlotAllocator {
  private next = 0;

  /**
   * @param clinicianIds clinicians the slots rotate over.
   * @param baseMs start of the first slot, ms since the epoch (the API accepts up to 2100).
   * @param slotMinutes length of each appointment.
   */
  constructor(
    private readonly clinicianIds: readonly string[],
    private readonly baseMs: number = Date.UTC(2090, 0, 1),
    private readonly slotMinutes = 30,
  ) {
    if (clinicianIds.length === 0) throw new Error('booking needs at least one clinician');
  }

  /** The next free slot: clinician k mod C, start base + floor(k / C) slots. */
  take(): { clinicianId: string; startsAt: string; endsAt: string } {
    const k = this.next++;
    const c = this.clinicianIds.length;
    const start = this.baseMs + Math.floor(k / c) * this.slotMinutes * 60_000;
    return {
      clinicianId: this.clinicianIds[k % c]!,
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + this.slotMinutes * 60_000).toISOString(),
    };
  }

  /** Slots handed out so far. */
  get taken(): number {
    return this.next;
  }
}

/** The MRN of synthetic patient i (1-based) for a prefix. */
export function syntheticMrn(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(7, '0')}`;
}

/** Uniform integer in [1, n]. */
function pick1(n: number, random: () => number): number {
  return 1 + Math.floor(random() * n);
}

interface Ctx {
  patientId?: string;
}

/** Options of {@link mixRequests}. */
export interface MixOptions {
  /** Book an appointment at the end of each cycle (needs `slots`). */
  book: boolean;
  slots?: SlotAllocator;
  /** Random source (tests pass a seeded one). Default Math.random. */
  random?: () => number;
}

/**
 * The request sequence of one virtual user.
 * @param token the user's session token (Bearer).
 * @returns autocannon requests for `client.setRequests`.
 */
export function mixRequests(token: string, data: MixData, options: MixOptions): LoadRequest[] {
  if (data.hotPatientIds.length === 0) throw new Error('the mix needs at least one hot patient');
  if (options.book && !options.slots) throw new Error('booking needs a slot allocator');
  const random = options.random ?? Math.random;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const fallback = (): string => data.hotPatientIds[Math.floor(random() * data.hotPatientIds.length)]!;
  const found = (context: Ctx): string => context.patientId ?? fallback();
  const requests: LoadRequest[] = [
    {
      method: 'GET',
      path: `${API}/patients`,
      headers,
      setupRequest: (req) => ({
        ...req,
        path: `${API}/patients?q=${encodeURIComponent(syntheticMrn(data.mrnPrefix, pick1(data.patientCount, random)))}&limit=5`,
      }),
      onResponse: (status, body, context: Ctx) => {
        context.patientId = undefined;
        if (status !== 200) return;
        try {
          const first = (JSON.parse(body) as { items?: Array<{ id?: unknown; isSynthetic?: unknown }> }).items?.[0];
          // Only ever follow up on a synthetic record.
          if (first && typeof first.id === 'string' && first.isSynthetic === true) context.patientId = first.id;
        } catch {
          // not JSON: the next steps use a hot patient
        }
      },
    },
    { method: 'GET', path: `${API}/patients`, headers, setupRequest: (req, context: Ctx) => ({ ...req, path: `${API}/patients/${found(context)}` }) },
    { method: 'GET', path: `${API}/patients`, headers, setupRequest: (req) => ({ ...req, path: `${API}/patients/${fallback()}` }) },
    {
      method: 'GET',
      path: `${API}/appointments`,
      headers,
      setupRequest: (req, context: Ctx) => ({ ...req, path: `${API}/appointments?patientId=${found(context)}&limit=10` }),
    },
  ];
  if (options.book) {
    const slots = options.slots!;
    requests.push({
      method: 'POST',
      path: `${API}/appointments`,
      headers,
      setupRequest: (req, context: Ctx) => ({
        ...req,
        body: JSON.stringify({ patientId: found(context), ...slots.take(), department: 'Load test', notes: 'synthetic load test booking' }),
      }),
    });
  }
  return requests;
}
