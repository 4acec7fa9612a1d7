import { expect } from 'chai';
import { catchUp, checkCron, dailyCron, describeSchedule, newSchedule, nextRun } from '../../../installer/backup/backup.schedule.js';
import { backupFits, RESERVE_MIN_BYTES } from '../../../installer/backup/backup.fit.js';
import {
  forgetArgs,
  maskSecrets,
  parseRepoCredentials,
  redactUrl,
  repoAccess,
  repoEnvironment,
  sftpCommand,
} from '../../../installer/backup/offsite.config.js';
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

  it("computes the next run in the schedule's time zone, across a DST change", () => {
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
    for (const bad of ['relative/path', 'sftp://host/path', 'sftp://u@h', 'sftp://u:pw@h/x', 'ftp://h/x', 'b2:bucket/x'])
      expect(() => repoAccess(bad), bad).to.throw(UsageError);
    expect(sftpCommand(s.sftp!, '/k', '/kh/known_hosts')).to.equal(
      'ssh -i /k -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/kh/known_hosts -o ConnectTimeout=20 backup@dr.example -s sftp',
    );
    expect([repoAccess('/x').network, s.network]).to.deep.equal(['none', 'host']);
  });

  it('parses REST-server URLs: the user and password leave the URL restic gets as -r', () => {
    const r = repoAccess('rest:https://backup:p%40ss%3Aw@dr.example:8000/carebox/');
    expect(r).to.deep.include({ kind: 'rest', repository: 'rest:https://dr.example:8000/carebox/', network: 'host' });
    expect(r.urlCredentials).to.deep.equal({ RESTIC_REST_USERNAME: 'backup', RESTIC_REST_PASSWORD: 'p@ss:w' });
    expect(repoAccess('rest:http://127.0.0.1:8000').repository).to.equal('rest:http://127.0.0.1:8000/');
    expect(repoAccess('rest:http://h:8000/a/b').urlCredentials).to.equal(null);
    for (const bad of ['rest:ftp://h/x', 'rest:h:8000/x', 'rest:http://u@h/x', 'rest:http://h:99999/x', 'rest:http://h/x?q=1', 'rest:'])
      expect(() => repoAccess(bad), bad).to.throw(UsageError);
    try {
      repoAccess('rest:gopher://u:secret@h/x');
    } catch (err) {
      expect((err as Error).message).to.not.contain('secret');
    }
  });

  it("parses S3 URLs in restic's forms (explicit http(s), none for HTTPS) with a bucket and an optional prefix", () => {
    expect(repoAccess('s3:http://127.0.0.1:9000/carebox/site-a')).to.deep.include({
      kind: 's3',
      repository: 's3:http://127.0.0.1:9000/carebox/site-a',
      network: 'host',
    });
    expect(repoAccess('s3:s3.amazonaws.com/hospital-backups').repository).to.equal('s3:s3.amazonaws.com/hospital-backups');
    expect(repoAccess('s3:https://minio.lan/b-1.x').repository).to.equal('s3:https://minio.lan/b-1.x');
    for (const bad of ['s3:http://h:9000/', 's3:http://h/Bad_Bucket', 's3:http://h/ab', 's3:http://key:sec@h/bucket', 's3:ftp://h/bucket'])
      expect(() => repoAccess(bad), bad).to.throw(UsageError);
  });

  it('reads credentials files (KEY=VALUE or JSON) with exactly the keys of the kind, never echoing a value', () => {
    expect(parseRepoCredentials('AWS_ACCESS_KEY_ID=AK\nAWS_SECRET_ACCESS_KEY="s#cret"\n', 's3')).to.deep.equal({
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 's#cret',
    });
    expect(parseRepoCredentials('{"RESTIC_REST_USERNAME":"u","RESTIC_REST_PASSWORD":"p w"}', 'rest')).to.deep.equal({
      RESTIC_REST_USERNAME: 'u',
      RESTIC_REST_PASSWORD: 'p w',
    });
    const bad: [string, 'rest' | 's3' | 'local', RegExp][] = [
      ['AWS_ACCESS_KEY_ID=AK\n', 's3', /AWS_SECRET_ACCESS_KEY/],
      ['AWS_ACCESS_KEY_ID=AK\nAWS_SECRET_ACCESS_KEY=topsecret\nEXTRA=1\n', 's3', /unknown key\(s\) EXTRA/],
      ['RESTIC_REST_USERNAME=a:b\nRESTIC_REST_PASSWORD=topsecret\n', 'rest', /must not contain ":"/],
      ['{not json', 'rest', /not valid JSON/],
      ['X=1', 'local', /REST and S3 repositories only/],
    ];
    for (const [text, kind, msg] of bad) {
      expect(() => parseRepoCredentials(text, kind), text).to.throw(UsageError, msg);
      try {
        parseRepoCredentials(text, kind);
      } catch (err) {
        expect((err as Error).message).to.not.contain('topsecret');
      }
    }
  });

  it('composes REST credentials into RESTIC_REPOSITORY and S3 keys into the environment, never into -r', () => {
    const rest = repoEnvironment(repoAccess('rest:http://h:8000/r'), { RESTIC_REST_USERNAME: 'u', RESTIC_REST_PASSWORD: 'p@ss/w' });
    expect(rest.repositoryArg).to.equal(null);
    expect(rest.env).to.deep.equal(['RESTIC_REPOSITORY=rest:http://u:p%40ss%2Fw@h:8000/r/']);
    expect(repoEnvironment(repoAccess('rest:http://h:8000/r'), null)).to.deep.equal({ repositoryArg: 'rest:http://h:8000/r/', env: [], secrets: [] });
    const s3 = repoEnvironment(repoAccess('s3:http://h:9000/bkt'), { AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK-secret' });
    expect(s3.repositoryArg).to.equal('s3:http://h:9000/bkt');
    expect(s3.env).to.deep.equal(['AWS_ACCESS_KEY_ID=AK', 'AWS_SECRET_ACCESS_KEY=SK-secret']);
    expect(() => repoEnvironment(repoAccess('s3:http://h:9000/bkt'), null)).to.throw(UsageError, /--credentials-file/);
    expect(maskSecrets('Fatal: rest:http://u:p%40ss%2Fw@h:8000/r/ and SK-secret', [...rest.secrets, ...s3.secrets])).to.equal(
      'Fatal: rest:http://u:***@h:8000/r/ and ***',
    );
    expect(redactUrl('sftp://u@h/x rest:https://a:b@h/')).to.equal('sftp://u@h/x rest:https://a:***@h/');
  });

  it('lets restic apply GFS retention to Carebox snapshots only, pruning the data', () => {
    expect(forgetArgs()).to.deep.equal(['forget', '--tag', 'carebox', '--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12', '--prune']);
    expect(forgetArgs({ daily: 3, weekly: 2, monthly: 1 }).slice(3, 9)).to.deep.equal(['--keep-daily', '3', '--keep-weekly', '2', '--keep-monthly', '1']);
    expect(() => forgetArgs({ daily: 0, weekly: 4, monthly: 12 })).to.throw(UsageError);
  });
});
