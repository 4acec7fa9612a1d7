import { expect } from 'chai';
import { accountDelayMs, accountKey } from '../../../../server/src/auth/login-throttle.js';

describe('server auth: login throttle', () => {
  const config = { LOGIN_ACCOUNT_DELAY_AFTER: 5, LOGIN_ACCOUNT_DELAY_STEP_MS: 500, LOGIN_ACCOUNT_MAX_DELAY_MS: 5000 };

  it('slows an account by (failures − delayAfter) × step, capped, and never below 0', () => {
    expect([0, 5, 6, 7, 15, 1_000].map((n) => accountDelayMs(n, config))).to.deep.equal([0, 0, 500, 1000, 5000, 5000]);
  });

  it('keys a typed name by a hash of its case-folded NFC form (no user name in Redis)', () => {
    expect(accountKey('Admin')).to.equal(accountKey('admin'));
    expect(accountKey('U\u0308mit')).to.equal(accountKey('\u00fcmit'));
    expect(accountKey('admin')).to.not.equal(accountKey('admin2'));
    expect(accountKey('admin')).to.match(/^[A-Za-z0-9_-]{32}$/);
  });
});
