import { expect } from 'chai';
import { mkdtemp, rm, writeFile, readFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendOperation, formatOperations, operationEntry, readOperations } from '../../../installer/manifest/operations.log.js';

describe('operations log (issue 13 item 6)', () => {
  const who = { user: 'root', uid: 0, sudoUser: 'alice' };
  const run = {
    verb: 'retier',
    args: ['horizontal'],
    options: { yes: true, json: false, dir: '/opt/carebox', images: '/tmp/x.json', message: 'hi', tier: 'horizontal', timeout: '120' },
    startedAt: new Date('2026-12-07T16:00:00Z'),
    durationMs: 1234.4,
    exitCode: 1,
    error: 'line one\nline two',
  };

  it('keeps plain settings, redacts other values, leaves out --dir and keeps only the first error line', () => {
    const e = operationEntry(run, who);
    expect(e).to.deep.equal({
      at: '2026-12-07T16:00:00.000Z',
      user: 'root',
      sudoUser: 'alice',
      uid: 0,
      verb: 'retier',
      args: ['horizontal'],
      options: { yes: true, json: false, images: '[redacted]', message: '[redacted]', tier: 'horizontal', timeout: '120' },
      exitCode: 1,
      error: 'line one',
      durationMs: 1234,
    });
    expect(formatOperations([e])).to.equal(
      '2026-12-07T16:00:00.000Z  alice (as root) carebox retier horizontal --yes --images [redacted] --message [redacted] --tier horizontal --timeout 120  → exit 1: line one (1.2 s)',
    );
    expect(formatOperations([])).to.equal('No operations recorded yet.');
  });

  it('masks the password of a repository URL given as an argument (backup offsite add NAME rest:http://user:pass@…)', () => {
    const e = operationEntry(
      {
        verb: 'backup offsite add',
        args: ['dr', 'rest:http://backup:hunter2@dr.example:8000/carebox'],
        options: {},
        startedAt: new Date(0),
        durationMs: 1,
        exitCode: 1,
        error: 'restic init on rest:http://backup:hunter2@dr.example:8000/ failed',
      },
      { user: 'u', uid: 0, sudoUser: null },
    );
    expect(e.args).to.deep.equal(['dr', 'rest:http://backup:***@dr.example:8000/carebox']);
    expect(e.error).to.equal('restic init on rest:http://backup:***@dr.example:8000/ failed');
  });

  it('appends only where an install is, and reads back skipping torn lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'carebox-ops-'));
    try {
      const e = operationEntry(run, who);
      expect(await appendOperation(dir, e)).to.deep.equal({ written: false, error: null });
      await writeFile(join(dir, 'carebox.json'), '{}');
      expect((await appendOperation(dir, e)).written).to.equal(true);
      await appendFile(join(dir, 'operations.log'), '{"torn":');
      expect((await appendOperation(dir, { ...e, exitCode: 0, error: null })).written).to.equal(true);
      const r = await readOperations(dir);
      // The torn line stays one bad line; the entry after it starts on a line of its own.
      expect(r.entries.map((x) => x.exitCode)).to.deep.equal([1, 0]);
      expect(r.skipped).to.equal(1);
      expect((await readFile(join(dir, 'operations.log'), 'utf8')).split('\n').filter(Boolean)).to.have.length(3);
      expect(await readOperations(join(dir, 'none'))).to.deep.equal({ entries: [], skipped: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('operations log: which runs are logged', () => {
  it('logs verbs that change the stack by their command path, and not the reads among them', async () => {
    const { isLoggedRun } = await import('../../../installer/manifest/operations.log.js');
    expect(isLoggedRun('install', [], {})).to.equal(true);
    expect(isLoggedRun('maintenance', ['status'], {})).to.equal(false);
    expect(isLoggedRun('maintenance', ['on'], {})).to.equal(true);
    expect(isLoggedRun('alerts silence', ['DiskSpaceLow'], { for: '4h' })).to.equal(true);
    expect(isLoggedRun('alerts', [], {})).to.equal(false);
    expect(isLoggedRun('backup offsite add', ['usb', '/mnt/usb'], {})).to.equal(true);
    expect(isLoggedRun('backup offsite remove', ['usb'], {})).to.equal(true);
    expect(isLoggedRun('backup schedule', [], { json: true, off: false, timezone: 'Europe/Berlin' })).to.equal(false);
    expect(isLoggedRun('backup schedule', [], { at: '03:00' })).to.equal(true);
    expect(isLoggedRun('backup schedule', [], { off: true })).to.equal(true);
    expect(isLoggedRun('status', [], {})).to.equal(false);
  });
});
