import { expect } from 'chai';
import { catchUp, checkCron, dailyCron, describeSchedule, newSchedule, nextRun } from '../../../installer/backup/backup.schedule.js';
import { backupFits, RESERVE_MIN_BYTES } from '../../../installer/backup/backup.fit.js';
import { forgetArgs, repoAccess, sftpCommand } from '../../../installer/backup/offsite.config.js';
import { UsageError } from '../../../installer/errors.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('backup schedule (pure)', () => {
  it('turns --backup-at HH:MM into a daily cron expression and rejects anything else', () => {
    expect(dailyCron('02:30')).to.equal('30 2 * * *');
    expect(dailyCron('23:05')).to.equal('5 23 * * *');
    expect(dailyCron('7:00')).to.equal('0 7 * * *');
    for (const bad of ['24:00', '12:60', 'noon', '1230', '']) expect(() => dailyCron(bad), bad).to.throw(UsageError);
  });

  it('checks cron expressions with croner: 5 or 6 fields, a real time zone', () => {
    expect(() => checkCron('*/20 * * * * *')).to.not.throw();
    expect(() => checkCron('30 2 * * *', 'Europe/Berlin')).to.not.throw();
    expect(() => checkCron('not a cron')).to.throw(UsageError);
    expect(() => checkCron('* * *')).to.throw(UsageError, /5 cron fields/);
    expect(() => checkCron('30 2 * * *', 'Mars/Olympus')).to.throw(UsageError);
    expect(() => newSchedule({ at: '02:00', cron: '0 2 * * *' }, new Date())).to.throw(UsageError, /not both/);
  });

  it('computes the next run in the schedule\'s time zone, across a DST change', () => {
    const s = { cron: '30 2 * * *', timezone: 'UTC' };
    expect(nextRun(s, new Date('2026-12-07T02:29:59Z'))!.toISOString()).to.equal('2026-12-07T02:30:00.000Z');
    expect(nextRun(s, new Date('2026-12-07T02:30:00Z'))!.toISOString()).to.equal('2026-12-08T02:30:00.000Z');
    // 01:00 in Berlin is 00:00 UTC in winter (CET) and 23:00 UTC the day before in summer (CEST).
    const berlin = { cron: '0 1 * * *', timezone: 'Europe/Berlin' };
    expect(nextRun(berlin, new Date('2026-03-28T12:00:00Z'))!.toISOString()).to.equal('2026-03-29T00:00:00.000Z');
    expect(nextRun(berlin, new Date('2026-03-29T12:00:00Z'))!.toISOString()).to.equal('2026-03-29T23:00:00.000Z');
  });

  it('decides a missed run from the last attempt and the schedule start (catch-up)', () => {
    const s = { ...newSchedule({ at: '02:30' }, new Date('2026-12-01T10:00:00Z')) };
    // Last backup on the 6th at 02:30; the host was off over the night of the 7th.
    const down = catchUp(s, '2026-12-06T02:30:05Z', new Date('2026-12-07T09:00:00Z'));
    expect(down).to.deep.equal({ missed: true, missedAt: '2026-12-07T02:30:00.000Z', next: '2026-12-08T02:30:00.000Z' });
    // Ran last night: nothing missed.
    expect(catchUp(s, '2026-12-07T02:30:04Z', new Date('2026-12-07T09:00:00Z')).missed).to.equal(false);
    // Never ran, but the schedule was set after last night's time: nothing missed yet.
    expect(catchUp(s, null, new Date('2026-12-01T11:00:00Z')).missed).to.equal(false);
    expect(catchUp(s, null, new Date('2026-12-02T03:00:00Z')).missed).to.equal(true);
    // A schedule turned off never misses.
    expect(catchUp({ ...s, enabled: false }, null, new Date('2027-01-01T00:00:00Z'))).to.deep.equal({ missed: false, missedAt: null, next: null });
  });

  it('describes a schedule for people', () => {
    expect(describeSchedule(newSchedule({ at: '02:30' }, new Date()))).to.equal('daily at 02:30 (UTC)');
    expect(describeSchedule(newSchedule({ cron: '*/20 * * * * *' }, new Date()))).to.equal('cron "*/20 * * * * *" (UTC)');
    expect(describeSchedule({ ...newSchedule({}, new Date()), enabled: false })).to.equal('off');
  });
});

describe('backup fit (pure)', () => {
  it('refuses a backup that would leave less than the reserve free', () => {
    const ok = backupFits(2 * GiB, 50 * GiB, 100 * GiB);
    expect(ok.ok).to.equal(true);
    expect(ok.reserveBytes).to.equal(5 * GiB);
    const tight = backupFits(2 * GiB, 6 * GiB, 100 * GiB);
    expect(tight.ok).to.equal(false);
    expect(tight.needBytes).to.equal(2 * GiB + 16 * MiB + 5 * GiB);
    // Small disks keep at least 512 MiB.
    expect(backupFits(0, 600 * MiB, 4 * GiB).reserveBytes).to.equal(RESERVE_MIN_BYTES);
  });
});

describe('restic repositories and retention (pure)', () => {
  it('parses local paths and SFTP URLs; rejects the rest', () => {
    expect(repoAccess('/mnt/usb/carebox')).to.deep.include({ kind: 'local', repository: '/mnt/usb/carebox', sameBinds: ['/mnt/usb/carebox'] });
    const s = repoAccess('sftp://backup@dr.example:2222/srv/restic/carebox');
    expect(s.repository).to.equal('sftp:backup@dr.example:/srv/restic/carebox');
    expect(s.sftp).to.deep.equal({ user: 'backup', host: 'dr.example', port: 2222, path: '/srv/restic/carebox' });
    expect(repoAccess('sftp://b@h/x').sftp!.port).to.equal(22);
    for (const bad of ['relative/path', 's3:s3.amazonaws.com/bucket', 'sftp://host/path', 'sftp://u@h']) expect(() => repoAccess(bad), bad).to.throw(UsageError);
    expect(sftpCommand(s.sftp!, '/k', '/kh/known_hosts')).to.equal('ssh -i /k -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/kh/known_hosts -o ConnectTimeout=20 backup@dr.example -s sftp');
  });

  it('lets restic apply GFS retention to Carebox snapshots only, pruning the data', () => {
    expect(forgetArgs()).to.deep.equal(['forget', '--tag', 'carebox', '--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12', '--prune']);
    expect(forgetArgs({ daily: 3, weekly: 2, monthly: 1 }).slice(3, 9)).to.deep.equal(['--keep-daily', '3', '--keep-weekly', '2', '--keep-monthly', '1']);
    expect(() => forgetArgs({ daily: 0, weekly: 4, monthly: 12 })).to.throw(UsageError);
  });
});
