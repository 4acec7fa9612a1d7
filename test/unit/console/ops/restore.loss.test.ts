import { expect } from 'chai';
import { changedSinceSql, formatRestoreLoss, restoreLoss, stampToIso } from '../../../../console/ops/restore.loss.js';
import { describeContract, pendingMigrations } from '../../../../console/ops/migration.plan.js';

describe('restore on a live system: what will be lost', () => {
  const backup = { stamp: '20261207T120000Z', tables: { 'public.patients': 100, 'public.users': 3, 'public.audit_events': 50, 'public.daily_reports': 2 } };

  it('counts per table: rows now, rows in the backup, rows written or changed since', () => {
    const loss = restoreLoss(
      backup,
      { 'public.patients': 124, 'public.users': 3, 'public.audit_events': 80, 'public.daily_reports': 2, 'public.referrals': 5 },
      { 'public.patients': 30, 'public.users': 0, 'public.audit_events': 30, 'public.referrals': 5 },
    );
    const patients = loss.tables.find((t) => t.table === 'public.patients')!;
    expect(patients).to.deep.include({ rowsNow: 124, rowsInBackup: 100, changedSince: 30, carriedOver: false });
    expect(loss.tables.find((t) => t.table === 'public.audit_events')!.carriedOver).to.equal(true);
    // 30 patients + 5 referrals; the audit trail is carried over; daily_reports has no write time and no difference.
    expect(loss.totalLost).to.equal(35);
    const text = formatRestoreLoss(loss);
    expect(text).to.match(/Lost: 35 row\(s\)/);
    expect(text).to.match(/public\.patients: 124 rows now, 100 in the backup; 30 written or changed since the backup: LOST/);
    expect(text).to.match(/public\.audit_events: .*kept/);
    expect(text).to.not.include('daily_reports');
  });

  it('says so when nothing was written since the backup', () => {
    const loss = restoreLoss(backup, backup.tables, { 'public.patients': 0 });
    expect(loss.totalLost).to.equal(0);
    expect(formatRestoreLoss(loss)).to.match(/No write since the backup was found/);
  });

  it('tables without a write-time column count their row difference', () => {
    const loss = restoreLoss(backup, { ...backup.tables, 'public.daily_reports': 5 }, {});
    expect(loss.tables.find((t) => t.table === 'public.daily_reports')!.changedSince).to.equal(null);
    expect(formatRestoreLoss(loss)).to.match(/daily_reports: 5 rows now, 2 in the backup; no timestamp column, so only the difference \(3\) is known/);
  });

  it('the stamp is the backup start; the SQL carries only a normalised timestamp', () => {
    expect(stampToIso('20261207T120000Z')).to.equal('2026-12-07T12:00:00.000Z');
    expect(() => stampToIso("x'; drop table patients; --")).to.throw();
    expect(changedSinceSql('2026-12-07T12:00:00.000Z')).to.include("'2026-12-07T12:00:00.000Z'").and.include('\\gexec');
  });
});

describe('upgrade migration plan (pure parts)', () => {
  const all = [
    { name: 'a', phase: 'expand' as const, declared: null, findings: [] },
    { name: 'b', phase: 'contract' as const, declared: null, findings: ['drop column x'] },
    { name: 'c', phase: 'expand' as const, declared: null, findings: [] },
  ];
  it("pending = the image's migrations the database has not applied, in order; unknown newer ones are ignored", () => {
    expect(pendingMigrations(all, ['a', 'zz-newer']).map((m) => m.name)).to.deep.equal(['b', 'c']);
  });
  it('names each contract step, or why the image could not tell', () => {
    expect(describeContract({ pending: all, unknownReason: null, additive: false })).to.equal('b: drop column x');
    expect(describeContract({ pending: null, unknownReason: 'exit 1', additive: false })).to.match(/cannot say .* \(exit 1\)/);
  });
});
