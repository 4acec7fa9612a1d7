/**
 * The appointment life cycle: which status may follow which, and who may set it.
 *
 *   booked ──► checked-in ──► completed
 *     │  └───► no-show
 *     └──────► cancelled
 *
 * completed, cancelled and no-show are final. Clinicians set check-in, completion and no-show on
 * their own appointments; clerks and admins set any status on any appointment.
 */
import type { AppointmentStatus } from './appointment.schemas.js';

const NEXT: Record<AppointmentStatus, readonly AppointmentStatus[]> = {
  booked: ['checked-in', 'cancelled', 'no-show'],
  'checked-in': ['completed', 'no-show'],
  completed: [],
  cancelled: [],
  'no-show': [],
};

/** Statuses a clinician may set (on their own appointments). */
export const CLINICIAN_SETTABLE: readonly AppointmentStatus[] = ['checked-in', 'completed', 'no-show'];

/** True when `to` may follow `from`. */
export function canTransition(from: AppointmentStatus, to: AppointmentStatus): boolean {
  return NEXT[from].includes(to);
}

/** True when an appointment in `status` can still be moved to another time or clinician. */
export function canReschedule(status: AppointmentStatus): boolean {
  return status === 'booked';
}
