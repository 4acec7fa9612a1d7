import { expect } from 'chai';
import { fileEntryForJson, octalMode } from '../../../../console/commands/backup.command.js';

describe('backup --json: file modes as octal strings, as ls and chmod show them', () => {
  it('writes modes in octal with a leading 0', () => {
    expect(octalMode(0o600)).to.equal('0600');
    expect(octalMode(384)).to.equal('0600');
    expect(octalMode(0o700)).to.equal('0700');
    expect(octalMode(0o644)).to.equal('0644');
    expect(octalMode(0o40600)).to.equal('0600'); // the file-type bits of st_mode are dropped
    expect(octalMode(0o4755)).to.equal('04755');
    expect(octalMode(0)).to.equal('0000');
  });

  it('a backup file entry keeps its other fields and gets the octal mode', () => {
    const e = { path: 'files/nginx/tls/key.pem', sha256: 'ab'.repeat(32), bytes: 241, mode: 0o600 };
    expect(fileEntryForJson(e)).to.deep.equal({ ...e, mode: '0600' });
    expect(JSON.stringify(fileEntryForJson(e))).to.include('"mode":"0600"');
  });
});
