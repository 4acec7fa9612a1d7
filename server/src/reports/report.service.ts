/**
 * The daily appointment summary: counts of one day's appointments by status, department and
 * clinician (no patient data), stored in `daily_reports` (one row per day, recomputed idempotently)
 * and, when DAILY_REPORT_RECIPIENTS is set, mailed through the outbox.
 */
import type { Knex } from 'knex';
import { APPOINTMENT_STATUS_VALUES, type AppointmentStatus } from '../appointments/appointment.schemas.js';
import type { NewOutboxMessage, OutboxRepository } from '../notifications/outbox.repository.js';
import type { DailySummary } from './report.schemas.js';

type Counts = Record<AppointmentStatus, number>;
const zero = (): Counts => Object.fromEntries(APPOINTMENT_STATUS_VALUES.map((s) => [s, 0])) as Counts;

/** The calendar day before `now` in `timezone`, `YYYY-MM-DD`. */
export function yesterdayIn(timezone: string, now: Date = new Date()): string {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  const d = new Date(`${today}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/** Options of {@link ReportService}. */
export interface ReportOptions {
  timezone: string;
  recipients: readonly string[];
}

/** Builds, stores and reads daily summaries. */
export class ReportService {
  constructor(
    private readonly db: Knex,
    private readonly outbox: OutboxRepository,
    private readonly options: ReportOptions,
  ) {}

  /**
   * Computes the summary of `date` (a day in HOSPITAL_TIMEZONE), stores it (replacing an earlier
   * one) and queues the mail to the recipients (once per day and recipient).
   */
  async generate(date: string): Promise<DailySummary> {
    const tz = this.options.timezone;
    const result = await this.db.raw<{
      rows: Array<{ department: string; clinician_id: string; display_name: string; status: AppointmentStatus; n: string; synthetic: string }>;
    }>(
      `select a.department, a.clinician_id, u.display_name, a.status, count(*) as n, count(*) filter (where a.is_synthetic) as synthetic
         from appointments a join users u on u.id = a.clinician_id
        where a.starts_at >= (?::date)::timestamp at time zone ?
          and a.starts_at < ((?::date) + 1)::timestamp at time zone ?
        group by a.department, a.clinician_id, u.display_name, a.status`,
      [date, tz, date, tz],
    );
    const byStatus = zero();
    const departments = new Map<string, { total: number; byStatus: Counts }>();
    const clinicians = new Map<string, { displayName: string; total: number; byStatus: Counts }>();
    let total = 0;
    let synthetic = 0;
    for (const row of result.rows) {
      const n = Number(row.n);
      total += n;
      synthetic += Number(row.synthetic);
      byStatus[row.status] += n;
      const dep = departments.get(row.department) ?? { total: 0, byStatus: zero() };
      dep.total += n;
      dep.byStatus[row.status] += n;
      departments.set(row.department, dep);
      const cli = clinicians.get(row.clinician_id) ?? { displayName: row.display_name, total: 0, byStatus: zero() };
      cli.total += n;
      cli.byStatus[row.status] += n;
      clinicians.set(row.clinician_id, cli);
    }
    const summary: DailySummary = {
      date,
      timezone: tz,
      generatedAt: new Date().toISOString(),
      total,
      synthetic,
      byStatus,
      byDepartment: [...departments].map(([department, v]) => ({ department, ...v })).sort((a, b) => a.department.localeCompare(b.department)),
      byClinician: [...clinicians].map(([clinicianId, v]) => ({ clinicianId, ...v })).sort((a, b) => a.displayName.localeCompare(b.displayName)),
    };
    await this.db.transaction(async (trx) => {
      await trx('daily_reports')
        .insert({ report_date: date, timezone: tz, summary: JSON.stringify(summary), generated_at: summary.generatedAt })
        .onConflict('report_date')
        .merge();
      const mail: NewOutboxMessage[] = this.options.recipients.map((to) => ({
        kind: 'daily-summary',
        dedupeKey: `${date}:${to.toLowerCase()}`,
        recipient: to,
        subject: `Carebox daily appointment summary ${date}`,
        body: renderSummary(summary),
      }));
      await this.outbox.insert(mail, trx);
    });
    return summary;
  }

  /** The stored summary of `date`, or null. */
  async get(date: string): Promise<DailySummary | null> {
    const row = (await this.db('daily_reports').where({ report_date: date }).first('summary')) as { summary: DailySummary } | undefined;
    return row?.summary ?? null;
  }
}

/** The summary as plain text for the mail. */
export function renderSummary(s: DailySummary): string {
  const line = (label: string, c: { total: number; byStatus: Counts }) =>
    `${label}: ${c.total} (${APPOINTMENT_STATUS_VALUES.map((st) => `${st} ${c.byStatus[st]}`).join(', ')})`;
  return [
    `Appointments on ${s.date} (${s.timezone})`,
    '',
    line('All', { total: s.total, byStatus: s.byStatus }),
    '',
    'By department:',
    ...s.byDepartment.map((d) => `  ${line(d.department, d)}`),
    '',
    'By clinician:',
    ...s.byClinician.map((c) => `  ${line(c.displayName, c)}`),
  ].join('\n');
}
