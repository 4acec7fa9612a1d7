import { expect } from 'chai';
import { parseOvercommit } from '../../../installer/detect/overcommit.parse.js';

describe('parseOvercommit (/proc/sys/vm/overcommit_memory)', () => {
  it('reads 0, 1 and 2 with the trailing newline; anything else is null', () => {
    expect(parseOvercommit('0\n')).to.equal(0);
    expect(parseOvercommit('1\n')).to.equal(1);
    expect(parseOvercommit(' 2 ')).to.equal(2);
    for (const bad of ['', '3', 'one', '1 2']) expect(parseOvercommit(bad)).to.equal(null);
  });
});
