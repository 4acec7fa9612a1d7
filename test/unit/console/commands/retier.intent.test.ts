import { expect } from 'chai';
import { retierIntent } from '../../../../console/commands/retier.command.js';

describe('console: retier intent', () => {
  it('keeps the installed PgBouncer mode when --pgbouncer is not given', () => {
    const i = retierIntent('horizontal', {});
    expect(i.tier).to.equal('horizontal');
    expect(i).to.not.have.property('pgbouncer');
  });
  it('takes --pgbouncer when given', () => {
    expect(retierIntent('default', { pgbouncer: 'on' }).pgbouncer).to.equal('on');
  });
  it('sizes by users', () => {
    expect(retierIntent(undefined, { users: '300' })).to.include({ tier: null, users: 300 });
  });
});
