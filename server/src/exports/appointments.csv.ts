/**
 * The CSV of a patient's appointments (RFC 4180: comma-separated, CRLF, quoted when needed).
 * Cells that a spreadsheet would run as a formula (starting with = + - @ or a tab/CR) are prefixed
 * with an apostrophe (OWASP "CSV injection").
 */
import type { Appointment } from '../appointments/appointment.schemas.js';

/** One CSV cell. */
export function csvCell(value: string | null | undefined): string {
  let text = value ?? '';
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The header row. */
export const CSV_HEADER = ['appointment_id', 'mrn', 'family_name', 'given_name', 'starts_at', 'ends_at', 'department', 'clinician', 'status'];

/**
 * The CSV text.
 * @param clinicianNames display names by clinician id.
 */
export function appointmentsCsv(
  patient: { mrn: string; familyName: string; givenName: string },
  appointments: readonly Appointment[],
  clinicianNames: ReadonlyMap<string, string>,
): string {
  const rows = [CSV_HEADER.join(',')];
  for (const a of appointments) {
    rows.push(
      [
        a.id,
        patient.mrn,
        patient.familyName,
        patient.givenName,
        a.startsAt,
        a.endsAt,
        a.department,
        clinicianNames.get(a.clinicianId) ?? a.clinicianId,
        a.status,
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return `${rows.join('\r\n')}\r\n`;
}
