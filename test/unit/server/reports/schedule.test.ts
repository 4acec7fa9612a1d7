import { expect } from 'chai';
import { dueRuns, MAINTENANCE_INTERVAL_MS } from '../../../../server/src/jobs/job.scheduler.js';
import { renderSummary, yesterdayIn } from '../../../../server/src/reports/report.service.js';

describe('server jobs: schedule and daily summary', () => {
  it('names each scheduled run after its slot, so every worker computes the same job id', () => {
    const config = { REMINDER_SCAN_INTERVAL_SECONDS: 300, HOSPITAL_TIMEZONE: 'UTC' };
    const t = Date.UTC(2030, 5, 1, 12, 0, 10);
    const a = dueRuns(config, t);
    expect(a.map((r) => r.jobId)).to.deep.equal([
      `reminders-scan:${Math.floor(t / 300_000)}`,
      'daily-summary:2030-05-31',
      `maintenance:${Math.floor(t / MAINTENANCE_INTERVAL_MS)}`,
    ]);
    expect(dueRuns(config, t + 60_000).map((r) => r.jobId)).to.deep.equal(a.map((r) => r.jobId));
    expect(dueRuns(config, t + 300_000)[0]!.jobId).not.to.equal(a[0]!.jobId);
  });

  it('takes "yesterday" in the hospital time zone', () => {
    const t = new Date('2030-06-01T23:30:00Z');
    expect(yesterdayIn('UTC', t)).to.equal('2030-05-31');
    expect(yesterdayIn('Europe/Berlin', t)).to.equal('2030-06-01');
    expect(yesterdayIn('America/New_York', new Date('2030-03-01T03:00:00Z'))).to.equal('2030-02-27');
  });

  it('renders the summary mail without any patient field', () => {
    const counts = { booked: 1, 'checked-in': 0, completed: 2, cancelled: 0, 'no-show': 1 };
    const text = renderSummary({
      date: '2030-01-01',
      timezone: 'UTC',
      generatedAt: '',
      total: 4,
      synthetic: 0,
      byStatus: counts,
      byDepartment: [{ department: 'Cardio', total: 4, byStatus: counts }],
      byClinician: [{ clinicianId: 'c', displayName: 'Dr X', total: 4, byStatus: counts }],
    });
    expect(text).to.include('All: 4 (booked 1, checked-in 0, completed 2, cancelled 0, no-show 1)');
    expect(text).to.include('  Cardio: 4').and.to.include('  Dr X: 4');
  });
});
