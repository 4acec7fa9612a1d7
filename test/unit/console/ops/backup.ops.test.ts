import { expect } from 'chai';
import { backupsToPrune, compareRowCounts } from '../../../../console/ops/backup.ops.js';
import { parseRowCounts, pgMajor, pgMajorFromVersionText } from '../../../../installer/runtime/psql.js';

describe('backup manifest helpers', () => {
  it('retention keeps the newest N stamp directories and ignores everything else', () => {
    const names = ['20261129T100000Z', 'config-20261129T090000Z', '20261128T100000Z', '.partial-20261129T110000Z', '20261130T100000Z'];
    expect(backupsToPrune(names, 2)).to.deep.equal(['20261128T100000Z']);
    expect(backupsToPrune(names, 7)).to.deep.equal([]);
    expect(backupsToPrune(names, 1)).to.deep.equal(['20261128T100000Z', '20261129T100000Z']);
  });

  it('compares row counts: equal, different, missing and extra tables', () => {
    expect(compareRowCounts({ 'public.patients': 3 }, { 'public.patients': 3 })).to.deep.equal([]);
    expect(compareRowCounts({ 'public.patients': 3, 'public.users': 1 }, { 'public.patients': 0, 'public.extra': 5 })).to.deep.equal([
      'public.patients: 0 rows, backup has 3',
      'public.users: missing (backup has 1 rows)',
      'public.extra: not in the backup (5 rows)',
    ]);
  });

  it('parses psql row-count output and PostgreSQL versions', () => {
    expect(parseRowCounts([['public.users', '2'], ['public.patients', '10'], ['junk']])).to.deep.equal({ 'public.patients': 10, 'public.users': 2 });
    expect(pgMajor(150010)).to.equal('15');
    expect(pgMajor(160004)).to.equal('16');
    expect(pgMajor(90624)).to.equal('9.6');
    expect(pgMajorFromVersionText('postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)')).to.equal('15');
    expect(pgMajorFromVersionText('postgres (PostgreSQL) 16.4')).to.equal('16');
    expect(pgMajorFromVersionText('command not found')).to.equal(null);
  });
});
