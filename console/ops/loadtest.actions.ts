/**
 * The workload profile's actions as HTTP request sequences against the load test's synthetic
 * tenant (loadtest.mix.ts describes the data). Every request names a synthetic MRN, a record such
 * a search returned (checked `isSynthetic`), a cache-hot synthetic patient, or the tenant's
 * clinicians. Requests carry a virtual person's session token.
 *
 * Known action types (the default profile's): `find-patient` (search by MRN → open the record
 * found → list its appointments), `open-record` (a cache-hot record), `book` (a free slot for a
 * hot patient). An action type of a hospital's own profile that is not one of these runs its
 * `requests` as the mix's reads in turn (search, open found, appointments, hot record, …).
 */
import { pickAction, type ProfileAction, type WorkloadProfile } from '../../installer/plan/workload.profile.js';
import type { Action, HttpAnswer, HttpStep } from './loadtest.open.js';
import { API, syntheticMrn, type MixData, type SlotAllocator } from './loadtest.mix.js';

/** The id of the first synthetic record of a search answer, or null. */
function foundId(a: HttpAnswer): string | null {
  try {
    const first = (JSON.parse(a.body) as { items?: Array<{ id?: unknown; isSynthetic?: unknown }> }).items?.[0];
    return first && typeof first.id === 'string' && first.isSynthetic === true ? first.id : null;
  } catch {
    return null;
  }
}

/** Builds actions for one run. */
export class ActionFactory {
  constructor(
    private readonly profile: WorkloadProfile,
    private readonly data: MixData,
    private readonly slots: SlotAllocator,
    private readonly random: () => number = Math.random,
  ) {
    if (data.hotPatientIds.length === 0) throw new Error('the actions need at least one hot patient');
  }

  /** A random action of the profile (by share) for a person holding `token`. */
  next(token: string): Action {
    return this.action(pickAction(this.profile, this.random), token);
  }

  /** The request sequence of one action type. */
  action(type: ProfileAction, token: string): Action {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const d = this.data;
    const hot = (): string => d.hotPatientIds[Math.floor(this.random() * d.hotPatientIds.length)]!;
    const search = (): HttpStep => ({
      method: 'GET',
      path: `${API}/patients?q=${encodeURIComponent(syntheticMrn(d.mrnPrefix, 1 + Math.floor(this.random() * d.patientCount)))}&limit=5`,
      headers,
    });
    const open = (id: string): HttpStep => ({ method: 'GET', path: `${API}/patients/${id}`, headers });
    const appointments = (id: string): HttpStep => ({ method: 'GET', path: `${API}/appointments?patientId=${id}&limit=10`, headers });
    const book = (id: string): HttpStep => ({
      method: 'POST',
      path: `${API}/appointments`,
      headers,
      body: JSON.stringify({ patientId: id, ...this.slots.take(), department: 'Load test', notes: 'synthetic load test booking' }),
    });
    const known: Record<string, number> = { 'find-patient': 3, 'open-record': 1, book: 1 };
    switch (known[type.name] === type.requests ? type.name : '') {
      case 'find-patient':
        return async (send) => {
          const id = foundId(await send(search())) ?? hot();
          await send(open(id));
          await send(appointments(id));
        };
      case 'open-record':
        return async (send) => {
          await send(open(hot()));
        };
      case 'book':
        return async (send) => {
          await send(book(hot()));
        };
      default:
        return async (send) => {
          let id = hot();
          for (let k = 0; k < type.requests; k += 1) {
            const step = k % 4;
            if (step === 0) id = foundId(await send(search())) ?? hot();
            else if (step === 1) await send(open(id));
            else if (step === 2) await send(appointments(id));
            else await send(open(hot()));
          }
        };
    }
  }
}
