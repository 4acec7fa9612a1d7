import { expect } from 'chai';
import { canReschedule, canTransition, CLINICIAN_SETTABLE } from '../../../../server/src/appointments/appointment-status.js';
import { APPOINTMENT_STATUS_VALUES } from '../../../../server/src/appointments/appointment.schemas.js';

describe('server appointments: status life cycle', () => {
  it('allows exactly booked → checked-in | cancelled | no-show and checked-in → completed | no-show', () => {
    const allowed = APPOINTMENT_STATUS_VALUES.flatMap((from) => APPOINTMENT_STATUS_VALUES.filter((to) => canTransition(from, to)).map((to) => `${from}→${to}`));
    expect(allowed).to.deep.equal(['booked→checked-in', 'booked→cancelled', 'booked→no-show', 'checked-in→completed', 'checked-in→no-show']);
  });

  it('treats completed, cancelled and no-show as final, and reschedules only booked appointments', () => {
    for (const final of ['completed', 'cancelled', 'no-show'] as const) {
      expect(
        APPOINTMENT_STATUS_VALUES.some((to) => canTransition(final, to)),
        final,
      ).to.equal(false);
    }
    expect(APPOINTMENT_STATUS_VALUES.filter(canReschedule)).to.deep.equal(['booked']);
    expect(CLINICIAN_SETTABLE).not.to.include('cancelled');
  });
});
