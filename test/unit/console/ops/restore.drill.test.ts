import { expect } from 'chai';
import { compareDrill, missingMigrations } from '../../../../console/ops/restore.drill.js';
import { backupMetricsText } from '../../../../console/ops/backup.metrics.js';
import { emptyStatus } from '../../../../installer/backup/backup.status.js';
import { parseChecksums } from '../../../../installer/runtime/psql.js';

describe('restore drill comparison (pure)', () => {
  const expected = { tables: { 'public.a': 3, 'public.b': 0 }, checksums: { 'public.a': '123', 'public.b': '0' } };

  it('passes when counts and checksums match', () => {
    expect(compareDrill(expected, { 'public.a': 3, 'public.b': 0 }, { 'public.a': '123', 'public.b': '0' })).to.deep.equal([]);
  });

  it('names a missing table, a wrong count, changed contents and an extra table', () => {
    expect(compareDrill(expected, { 'public.a': 2 }, {})).to.deep.equal([
      'public.a: 2 rows restored, backup has 3',
      'public.b: missing after restore (backup has 0 rows)',
    ]);
    expect(compareDrill(expected, { 'public.a': 3, 'public.b': 0, 'public.c': 1 }, { 'public.a': '124', 'public.b': '0' })).to.deep.equal([
      'public.a: checksum differs (same 3 rows, different contents)',
      'public.c: restored but not in backup.json',
    ]);
  });

  it('compares counts only for a backup made before checksums', () => {
    expect(compareDrill({ tables: { 'public.a': 3 } }, { 'public.a': 3 }, { 'public.a': 'anything' })).to.deep.equal([]);
  });

  it('finds migrations the restored database lacks', () => {
    expect(missingMigrations(['001', '002', '003'], ['001', '003', 'zzz-newer'])).to.deep.equal(['002']);
    expect(missingMigrations(['001'], ['001'])).to.deep.equal([]);
  });

  it('parses checksum rows, skipping anything that is not a decimal', () => {
    expect(
      parseChecksums([
        ['public.b', '42'],
        ['public.a', '0'],
        ['junk', 'x'],
      ]),
    ).to.deep.equal({ 'public.a': '0', 'public.b': '42' });
  });
});

describe('backup metrics textfile (prom-client format)', () => {
  it('writes every gauge, 0 for never, and one series per configured repository', async () => {
    const text = await backupMetricsText(emptyStatus(), ['usb']);
    expect(text).to.match(/^# TYPE carebox_backup_last_success_timestamp_seconds gauge$/m);
    expect(text).to.match(/^carebox_backup_last_success_timestamp_seconds 0$/m);
    expect(text).to.match(/^carebox_backup_offsite_last_success_timestamp_seconds\{repository="usb"\} 0$/m);
    expect(text).to.match(/^carebox_backup_schedule_missed 0$/m);
    expect(text).to.match(/^carebox_backup_refused_timestamp_seconds 0$/m);
  });

  it('publishes times as Unix seconds and the missed flag while set', async () => {
    const s = {
      ...emptyStatus(),
      lastSuccessAt: '2026-12-07T02:30:00.000Z',
      lastAttemptAt: '2026-12-07T02:30:00.000Z',
      lastAttemptOk: true,
      scheduleMissedAt: '2026-12-07T09:00:00.000Z',
      drill: { at: '2026-12-07T02:31:00.000Z', stamp: 'x', durationMs: 1, ok: false, why: 'x', tables: 1 },
    };
    const text = await backupMetricsText(s, []);
    expect(text).to.match(/^carebox_backup_last_success_timestamp_seconds 1796610600$/m);
    expect(text).to.match(/^carebox_backup_last_attempt_success 1$/m);
    // A record from before reasons existed reads `error`; the attempt time is published.
    expect(text).to.match(/^carebox_restore_drill_last_attempt_success\{reason="error"\} 0$/m);
    expect(text).to.match(/^carebox_restore_drill_last_attempt_timestamp_seconds 1796610660$/m);
    expect(text).to.match(/^carebox_backup_schedule_missed 1$/m);
  });

  it('publishes a failed drill with its reason, a passing one without, and no attempt before the first', async () => {
    const drill = {
      at: '2026-12-07T02:31:00.000Z',
      stamp: 'x',
      durationMs: 1,
      ok: false,
      why: 'public.patients: checksum differs',
      reason: 'data_mismatch' as const,
      tables: 1,
    };
    expect(await backupMetricsText({ ...emptyStatus(), drill }, [])).to.match(/^carebox_restore_drill_last_attempt_success\{reason="data_mismatch"\} 0$/m);
    const passed = await backupMetricsText({ ...emptyStatus(), drill: { ...drill, ok: true, why: null, reason: null } }, []);
    expect(passed).to.match(/^carebox_restore_drill_last_attempt_success 1$/m);
    expect(passed).to.not.match(/reason=/);
    const fresh = await backupMetricsText(emptyStatus(), []);
    expect(fresh).to.match(/^carebox_restore_drill_last_attempt_timestamp_seconds 0$/m);
  });

  it('publishes the install time, which the age alerts count from until the first backup (issue 13: a fresh install does not alert)', async () => {
    const text = await backupMetricsText(emptyStatus(), [], '2026-12-07T21:00:00.000Z');
    expect(text).to.match(/^carebox_install_timestamp_seconds 1796677200$/m);
    expect(text).to.match(/^carebox_backup_last_success_timestamp_seconds 0$/m);
    // Without it (an old caller), the line is absent and the rules fall back to the last success.
    expect(await backupMetricsText(emptyStatus(), [])).to.not.match(/carebox_install_timestamp_seconds/);
  });
});
