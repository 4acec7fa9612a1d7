import { expect } from 'chai';
import { generateOneTimePassword } from '../../../../server/src/auth/one-time-password.js';
import { hashPassword, needsRehash, verifyPassword } from '../../../../server/src/auth/password.hasher.js';
import { isWellFormedToken, sessionIdOf } from '../../../../server/src/auth/session.store.js';

describe('server auth: passwords and tokens', () => {
  it('generates unambiguous one-time passwords that are never the same', () => {
    const seen = new Set(Array.from({ length: 200 }, generateOneTimePassword));
    expect(seen.size).to.equal(200);
    for (const p of seen) expect(p).to.match(/^[A-HJ-NP-Za-km-z2-9]{4}(-[A-HJ-NP-Za-km-z2-9]{4}){4}$/);
  });

  it('hashes with argon2id, verifies, and never throws on a malformed hash', async () => {
    const hash = await hashPassword('a long password 123');
    expect(hash).to.match(/^\$argon2id\$v=19\$m=19456,(t=2,p=1|p=1,t=2)\$/);
    expect(await verifyPassword(hash, 'a long password 123')).to.equal(true);
    expect(await verifyPassword(hash, 'wrong')).to.equal(false);
    expect(await verifyPassword('!synthetic: no sign-in', 'x')).to.equal(false);
    expect(needsRehash(hash)).to.equal(false);
  });

  it('accepts only tokens of the issued shape and stores them by SHA-256', () => {
    expect(isWellFormedToken(`cbx_${'a'.repeat(43)}`)).to.equal(true);
    for (const bad of ['', 'cbx_short', `cbx_${'a'.repeat(44)}`, `xyz_${'a'.repeat(43)}`, `cbx_${'a'.repeat(42)}!`])
      expect(isWellFormedToken(bad), bad).to.equal(false);
    expect(sessionIdOf('cbx_x')).to.match(/^[0-9a-f]{64}$/);
  });
});
